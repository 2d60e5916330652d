"""Attaching a replay session to autogen: every model client, tool, memory and code executor.

:func:`serving` installs a :class:`SessionInterceptor` in the recorder's hook (a context variable,
so concurrent replays in one process do not mix) and makes sure autogen is wrapped. From then on,
inside that context, every ``ChatCompletionClient.create``/``create_stream`` of any client class is
answered by the session - a team built with its usual real clients makes no network call - and
tool calls, memory queries and code executions are served from the recording.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from teamtape.recorder import Recorder
from teamtape.recorder._context import current_agent
from teamtape.recorder._hooks import replay_interceptor
from teamtape.recorder._instrument import is_patched, patch_autogen, unpatch_autogen
from teamtape.recorder._models import model_of
from teamtape.recorder._patch import Patcher
from teamtape.recorder._tools import _memory_name, _tool_kind
from teamtape.store import Event

from ._normalize import LiveMessageCache, live_request
from ._serve import code_result, execution_result, memory_result
from ._session import ReplaySession

# True while a call passes through to a real client: its inner calls (a cache's wrapped client)
# are not intercepted a second time.
_bypass: ContextVar[bool] = ContextVar("teamtape_replay_bypass", default=False)

_RERUN_KINDS = ("handoff", "agent", "team")
"""Tool kinds that are always re-run: handoffs are pure, and AgentTool/TeamTool re-run their nested
agent or team with its model calls, tools and memory served from the recording in turn."""


def _replay_client_type() -> type:
    from ._client import ReplayChatCompletionClient

    return ReplayChatCompletionClient


async def bypassed(make: Callable[[], Any]) -> Any:
    """Await ``make()`` with interception off (a real client's own inner calls are not served)."""
    token = _bypass.set(True)
    try:
        return await make()
    finally:
        _bypass.reset(token)


async def bypassed_stream(make: Callable[[], Any]) -> AsyncGenerator[Any, None]:
    """Iterate ``make()`` with interception off."""
    token = _bypass.set(True)
    try:
        inner = make()
    finally:
        _bypass.reset(token)
    try:
        while True:
            token = _bypass.set(True)
            try:
                item = await inner.__anext__()
            except StopAsyncIteration:
                return
            finally:
                _bypass.reset(token)
            yield item
    finally:
        await inner.aclose()


class SessionInterceptor:
    """Implements the recorder's ``Interceptor`` hook for one :class:`ReplaySession`."""

    def __init__(self, session: ReplaySession) -> None:
        self.session = session
        self.cache = LiveMessageCache()

    def _passes_through(self, client: Any) -> bool:
        return _bypass.get() or isinstance(client, _replay_client_type())

    def _request(self, client: Any, messages: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return live_request(
            messages,
            kwargs,
            args,
            model=model_of(client),
            agent=current_agent.get(),
            cache=self.cache,
            slot=id(client),
        )

    def model_create(
        self,
        client: Any,
        original: Callable[..., Any],
        messages: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if self._passes_through(client):
            return original(client, messages, *args, **kwargs)
        request = self._request(client, messages, args, kwargs)
        return self.session.create(
            request, lambda: bypassed(lambda: original(client, messages, *args, **kwargs))
        )

    def model_create_stream(
        self,
        client: Any,
        original: Callable[..., Any],
        messages: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if self._passes_through(client):
            return original(client, messages, *args, **kwargs)
        request = self._request(client, messages, args, kwargs)
        return self.session.create_stream(
            request, lambda: bypassed_stream(lambda: original(client, messages, *args, **kwargs))
        )

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
        session = self.session
        name = str(getattr(tool_call, "name", ""))
        kind = _tool_kind(name, workbench, handoff_tools)
        if kind in _RERUN_KINDS or not session.serves_side_effects():
            if kind not in _RERUN_KINDS:
                session.stats.tools_executed += 1
            return await original(tool_call, workbench, handoff_tools, agent_name, *args, **kwargs)
        try:
            arguments = json.loads(getattr(tool_call, "arguments", "") or "{}")
        except ValueError:
            arguments = getattr(tool_call, "arguments", None)
        recorded = session.take_tool(agent_name, name, arguments)
        if recorded is not None:
            return tool_call, execution_result(recorded, tool_call)
        if session.may_run_live():
            session.stats.tools_executed += 1
            return await original(tool_call, workbench, handoff_tools, agent_name, *args, **kwargs)
        raise session.tool_mismatch(agent_name, name, arguments)

    async def memory_query(
        self,
        memory: Any,
        original: Callable[..., Any],
        query: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        session = self.session
        if not session.serves_side_effects():
            return await original(memory, query, *args, **kwargs)
        agent = current_agent.get()
        recorded = session.take_memory(agent, _memory_name(memory))
        if recorded is not None:
            return memory_result(recorded)
        if session.may_run_live():
            return await original(memory, query, *args, **kwargs)
        raise session.side_effect_missing("memory query results", agent)

    async def execute_code(
        self,
        agent: Any,
        original: Callable[..., Any],
        code_blocks: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        session = self.session
        if not session.serves_side_effects():
            return await original(agent, code_blocks, *args, **kwargs)
        name = str(getattr(agent, "name", ""))
        recorded = session.take_code(name, with_model=getattr(agent, "_model_client", None) is not None)
        if recorded is not None:
            return code_result(recorded)
        if session.may_run_live():
            return await original(agent, code_blocks, *args, **kwargs)
        raise session.side_effect_missing("code execution results", name)


# -- code execution: the recorder does not wrap it, so replay does, while a session is installed ---------
_code_patcher = Patcher()
_code_users = 0
_code_lock = threading.Lock()


def _wrap_execute_code_block(original: Callable[..., Any]) -> Callable[..., Any]:
    async def execute_code_block(self: Any, code_blocks: Any, *args: Any, **kwargs: Any) -> Any:
        hook = replay_interceptor.get()
        if isinstance(hook, SessionInterceptor):
            return await hook.execute_code(self, original, code_blocks, args, kwargs)
        return await original(self, code_blocks, *args, **kwargs)

    return execute_code_block


@contextlib.contextmanager
def _code_patched() -> Iterator[None]:
    global _code_users
    from autogen_agentchat.agents import CodeExecutorAgent

    with _code_lock:
        if _code_users == 0:
            _code_patcher.wrap_tree(CodeExecutorAgent, ["execute_code_block"], _wrap_execute_code_block)
        _code_users += 1
    try:
        yield
    finally:
        with _code_lock:
            _code_users -= 1
            if _code_users == 0:
                _code_patcher.restore()


@contextlib.contextmanager
def serving(session: ReplaySession) -> Iterator[ReplaySession]:
    """Serve ``session`` to everything autogen does inside this block (this context and its tasks).

    Example:
        >>> from teamtape.replay import ReplaySession, serving
        >>> with serving(ReplaySession(None, mode="all")) as session:
        ...     pass  # await team.run(task=...): every call goes live and can be recorded
        >>> session.stats.model_served
        0
    """
    from teamtape.recorder import _active

    patched_here = False
    if not is_patched():
        patch_autogen()
        patched_here = True
    attribution = None
    if _active.active() is None:
        attribution = _AttributionOnly(save_state=False)
        _active.push(attribution)
    token = replay_interceptor.set(SessionInterceptor(session))
    try:
        with _code_patched():
            yield session
    finally:
        replay_interceptor.reset(token)
        if attribution is not None:
            _active.pop(attribution)
        if patched_here and _active.active() is None:
            unpatch_autogen()


class _AttributionOnly(Recorder):
    """Follows runs and turns like a recorder (so calls are attributed to their agent) but writes nothing."""

    def emit(self, event: Event) -> None:
        return None

    def _get_writer(self) -> None:
        return None
