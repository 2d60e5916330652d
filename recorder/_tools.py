"""Tool calls (function, handoff, AgentTool/TeamTool, MCP) and memory queries."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ._context import current_agent, current_run, current_tool_call, in_memory_call
from ._guard import safely
from ._hooks import call_memory_query, call_tool
from ._serialize import error_payload, to_jsonable


def _tool_kind(name: str, workbenches: Any, handoff_tools: Any) -> str:
    if any(getattr(h, "name", None) == name for h in handoff_tools or []):
        return "handoff"
    for wb in workbenches or []:
        for tool in getattr(wb, "_tools", None) or []:
            if getattr(tool, "name", None) == name:
                cls = type(tool).__name__
                return {"AgentTool": "agent", "TeamTool": "team"}.get(cls, "function")
        if "Mcp" in type(wb).__name__:
            return "mcp"
    return "function"


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not standard JSON")


# Built once: ``json.loads(text, parse_constant=...)`` would build a decoder on every call.
_STANDARD_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def _parse_arguments(raw: Any) -> Any:
    """A tool call's arguments as JSON; text that is not standard JSON (e.g. ``NaN``) is kept as sent."""
    if isinstance(raw, str):
        try:
            return _STANDARD_JSON.decode(raw)
        except (ValueError, RecursionError):
            return raw
    return to_jsonable(raw)


def wrap_execute_tool_call(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``AssistantAgent._execute_tool_call`` (a staticmethod)."""

    async def _execute_tool_call(
        tool_call: Any, workbench: Any, handoff_tools: Any, agent_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        run = current_run.get()
        if run is None:
            return await call_tool(original, tool_call, workbench, handoff_tools, agent_name, args, kwargs)
        state: dict[str, Any] = {"call_id": getattr(tool_call, "id", None)}
        token = current_tool_call.set(state)
        started, perf = time.time(), time.perf_counter()

        def emit(result: Any = None, error: BaseException | None = None) -> None:
            name = getattr(tool_call, "name", None)
            payload: dict[str, Any] = {
                "call_id": state["call_id"],
                "tool": name,
                "kind": _tool_kind(str(name), workbench, handoff_tools),
                "arguments": _parse_arguments(getattr(tool_call, "arguments", None)),
                "started_ts": started,
                "duration_ms": (time.perf_counter() - perf) * 1000,
                "child_run_id": state.get("child_run_id"),
            }
            if error is not None:
                # A cancelled call has no message of its own: say what became of it.
                said = str(error) or f"{type(error).__name__}: the tool did not finish"
                payload.update(result=said, is_error=True, error=error_payload(error))
            else:
                execution = result[1] if isinstance(result, tuple) and len(result) == 2 else result
                payload["result"] = to_jsonable(getattr(execution, "content", execution))
                payload["is_error"] = bool(getattr(execution, "is_error", False))
                if payload["is_error"] and state.get("raised"):  # the exception the workbench made text of
                    payload["error"] = state["raised"]
            run.emit("tool_call", agent_name, **payload)

        try:
            result = await call_tool(original, tool_call, workbench, handoff_tools, agent_name, args, kwargs)
        except BaseException as e:
            current_tool_call.reset(token)
            safely("a failed tool call", emit, None, e)
            raise
        current_tool_call.reset(token)
        safely("a tool call", emit, result)
        return result

    return _execute_tool_call


def wrap_tool_run_json(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``BaseTool.run_json``: an exception the tool raises is noted on its call (with its
    traceback) before the workbench turns it into the text the model sees."""

    async def run_json(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except Exception as e:
            state = current_tool_call.get()
            if state is not None and "raised" not in state:
                state["raised"] = safely("a tool's exception", error_payload, e, True)
            raise

    return run_json


def _memory_name(memory: Any) -> str:
    name = getattr(memory, "name", None)
    return str(name) if isinstance(name, str) and name else type(memory).__name__


def _emit_memory(
    memory: Any, query: Any, results: Any, started: float, perf: float, error: BaseException | None
) -> None:
    run = current_run.get()
    if run is None:
        return
    items = list(getattr(results, "results", results) or []) if results is not None else []
    payload: dict[str, Any] = {
        "memory": _memory_name(memory),
        "memory_type": type(memory).__name__,
        "query": query if isinstance(query, str) or query is None else to_jsonable(query),
        "results": [to_jsonable(r) for r in items],
        "n_results": len(items),
        "started_ts": started,
        "duration_ms": (time.perf_counter() - perf) * 1000,
    }
    if error is not None:
        payload["error"] = error_payload(error)
    run.emit("memory_query", current_agent.get(), **payload)


def wrap_update_context(original: Callable[..., Any]) -> Callable[..., Any]:
    async def update_context(self: Any, model_context: Any, *args: Any, **kwargs: Any) -> Any:
        if current_run.get() is None or in_memory_call.get() is not None:
            return await original(self, model_context, *args, **kwargs)
        state: dict[str, Any] = {"query": None}
        token = in_memory_call.set(state)
        started, perf = time.time(), time.perf_counter()
        try:
            result = await original(self, model_context, *args, **kwargs)
        except BaseException as e:
            in_memory_call.reset(token)
            safely("a memory query", _emit_memory, self, state["query"], None, started, perf, e)
            raise
        in_memory_call.reset(token)
        memories = getattr(result, "memories", None)
        safely("a memory query", _emit_memory, self, state["query"], memories, started, perf, None)
        return result

    return update_context


def wrap_query(original: Callable[..., Any]) -> Callable[..., Any]:
    async def query(self: Any, query: Any = "", *args: Any, **kwargs: Any) -> Any:
        inside_update = in_memory_call.get()
        if inside_update is not None:
            inside_update["query"] = query if isinstance(query, str) else to_jsonable(query)
        if current_run.get() is None or inside_update is not None:
            return await call_memory_query(original, self, query, args, kwargs)
        started, perf = time.time(), time.perf_counter()
        try:
            result = await call_memory_query(original, self, query, args, kwargs)
        except BaseException as e:
            safely("a memory query", _emit_memory, self, query, None, started, perf, e)
            raise
        safely("a memory query", _emit_memory, self, query, result, started, perf, None)
        return result

    return query
