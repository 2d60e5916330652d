"""Offline demo: a scripted OpenAI-compatible server and handbook teams.

The server and scripting helpers are importable without loading AutoGen; the scenarios live in
:mod:`teamtape.demo.scenarios`.
"""

from teamtape.demo.script import (
    Route,
    Script,
    ScriptError,
    last_message_role,
    last_message_text,
    system_prompt,
    tool_names,
)
from teamtape.demo.server import Reply, Responder, ScriptedOpenAIServer, ToolCall

__all__ = [
    "Reply",
    "Responder",
    "Route",
    "Script",
    "ScriptError",
    "ScriptedOpenAIServer",
    "ToolCall",
    "last_message_role",
    "last_message_text",
    "system_prompt",
    "tool_names",
]
