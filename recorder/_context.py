"""Context variables that tie what autogen does back to a run, an agent and an LLM call.

AutoGen's group chats run agents in tasks of their own runtime; those tasks copy the context of
the ``run_stream`` step that started the runtime, so a value set around that step is seen by every
agent turn, model call and tool call of the run. Nothing here is global state shared by
concurrent teams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._run import RunRecorder

T = TypeVar("T")

current_run: ContextVar[RunRecorder | None] = ContextVar("teamtape_run", default=None)
current_agent: ContextVar[str | None] = ContextVar("teamtape_agent", default=None)
current_agent_obj: ContextVar[Any] = ContextVar("teamtape_agent_obj", default=None)
# The agent turn in progress (a recorder._turns._Turn).
current_turn: ContextVar[Any] = ContextVar("teamtape_turn", default=None)
# The speaker selection in progress (a dict that learns the candidates the model chose from).
current_selection: ContextVar[dict[str, Any] | None] = ContextVar("teamtape_selection", default=None)
# State of the LLM call in progress (a dict), so autogen's log records can join it.
current_llm_call: ContextVar[dict[str, Any] | None] = ContextVar("teamtape_llm_call", default=None)
# The tool call in progress, so a nested run can name it as its origin.
current_tool_call: ContextVar[dict[str, Any] | None] = ContextVar("teamtape_tool_call", default=None)
# Set while a memory's update_context runs, so its inner query() is not recorded twice (the
# query text it used is noted here instead).
in_memory_call: ContextVar[dict[str, Any] | None] = ContextVar("teamtape_memory", default=None)


async def next_within(var: ContextVar[T], value: T, stream: AsyncIterator[Any]) -> Any:
    """The next item of ``stream`` (or StopAsyncIteration), with ``var`` set to ``value`` only while
    ``stream`` makes it: code the caller runs between items is not taken for part of it."""
    token = var.set(value)
    try:
        return await stream.__anext__()
    finally:
        var.reset(token)
