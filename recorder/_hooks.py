"""Where teamtape replay plugs into the wrappers: model calls, tool calls and memory queries.

While ``replay_interceptor`` holds an :class:`Interceptor` (set by ``teamtape.replay``), the recorder's
wrappers ask it to perform the call instead of calling autogen's original method. The interceptor
either serves the recorded outcome or calls the original itself; either way the recorder records the
call exactly as it records a live one. With no interceptor set nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol


class Interceptor(Protocol):
    """What ``teamtape.replay`` implements to serve calls from a recording."""

    def model_create(
        self,
        client: Any,
        original: Callable[..., Any],
        messages: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Return what ``original(client, messages, *args, **kwargs)`` would (a coroutine)."""
        ...

    def model_create_stream(
        self,
        client: Any,
        original: Callable[..., Any],
        messages: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Return what ``original(client, messages, *args, **kwargs)`` would (an async generator)."""
        ...

    async def tool_call(
        self,
        original: Callable[..., Any],
        tool_call: Any,
        workbench: Any,
        handoff_tools: Any,
        agent_name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Return what ``AssistantAgent._execute_tool_call`` would: ``(tool_call, FunctionExecutionResult)``."""
        ...

    async def memory_query(
        self,
        memory: Any,
        original: Callable[..., Any],
        query: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Return what ``memory.query(query, ...)`` would (a ``MemoryQueryResult``)."""
        ...


replay_interceptor: ContextVar[Interceptor | None] = ContextVar("teamtape_replay_interceptor", default=None)


def call_create(
    original: Callable[..., Any], client: Any, messages: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    hook = replay_interceptor.get()
    if hook is None:
        return original(client, messages, *args, **kwargs)
    return hook.model_create(client, original, messages, args, kwargs)


def call_create_stream(
    original: Callable[..., Any], client: Any, messages: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    hook = replay_interceptor.get()
    if hook is None:
        return original(client, messages, *args, **kwargs)
    return hook.model_create_stream(client, original, messages, args, kwargs)


def call_tool(
    original: Callable[..., Any],
    tool_call: Any,
    workbench: Any,
    handoff_tools: Any,
    agent_name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    hook = replay_interceptor.get()
    if hook is None:
        return original(tool_call, workbench, handoff_tools, agent_name, *args, **kwargs)
    return hook.tool_call(original, tool_call, workbench, handoff_tools, agent_name, args, kwargs)


def call_memory_query(
    original: Callable[..., Any], memory: Any, query: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    hook = replay_interceptor.get()
    if hook is None:
        return original(memory, query, *args, **kwargs)
    return hook.memory_query(memory, original, query, args, kwargs)
