"""teamtape package."""
