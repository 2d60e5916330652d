"""Offline demo: a scripted OpenAI-compatible server and handbook teams."""
