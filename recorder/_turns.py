"""Agent turns (``on_messages`` / ``on_messages_stream``) and speaker selection in group chats.

Inside a run, a turn sets which agent is speaking, so the model, tool and memory calls it makes
are attributed to it, and ends with an ``agent_turn`` event. Called with no run around it (a user
calling ``agent.on_messages(...)`` directly, as the handbook does), a turn is recorded as a run.
"""

from __future__ import annotations

import inspect
import itertools
import os
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from ._active import active
from ._context import current_agent, current_agent_obj, current_run, current_selection, current_turn
from ._guard import safely
from ._run import RunRecorder
from ._runs import finish, start_run, status_of
from ._serialize import error_payload

SELECTOR_LABELS = {
    "SelectorGroupChatManager": "selector",
    "MagenticOneOrchestrator": "orchestrator",
    "RoundRobinGroupChatManager": "round_robin",
    "SwarmGroupChatManager": "swarm",
    "GraphFlowManager": "graph",
}


_TURN_TAG = os.urandom(4).hex()  # turn ids: this tag and a number, unique in this process
_turn_numbers = itertools.count(1)


class _Turn:
    """One agent turn: the run it belongs to and, for a direct call, the run it created.

    ``live`` is the run that records this turn's messages as they happen: the run of a direct call,
    or of ``agent.run()`` (whose own result would only tell them at the end). A team's runs record
    messages from their run stream instead, so their turns have no ``live`` run.
    """

    def __init__(self, agent: Any, messages: Any) -> None:
        self.agent = agent
        self.name = str(getattr(agent, "name", type(agent).__name__))
        self.run: RunRecorder | None = current_run.get() or _team_run_of(agent)
        self.direct: RunRecorder | None = None
        if self.run is None:
            self.direct = self.run = start_run(agent, list(messages or []) or None)
            if self.direct is not None:
                self.direct.live_owner = agent
        self.live: RunRecorder | None = None
        # In a team that records its output where it is made, this turn records what it yields.
        self.yields_to: RunRecorder | None = None
        if self.run is not None and id(agent) in self.run.yielding_participants:
            self.yields_to = self.run
        self.tapped = False
        if self.run is not None and self.run.live_owner is agent and not self.run.live_started:
            self.live = self.run
            self.live.live_started = True
            if self.live.record_inputs:
                self.live.record_messages(messages)
        self.turn_id = f"{_TURN_TAG}{next(_turn_numbers):x}"
        self.saw_response = False
        self.started = time.time()
        self._perf = time.perf_counter()

    def enter(self) -> tuple[Any, ...]:
        """Make this turn current (for one step of the agent); :meth:`leave` undoes it."""
        return (
            # In a team's turn the run is usually current already: setting it again costs a step.
            current_run.set(self.run) if current_run.get() is not self.run else None,
            current_agent.set(self.name),
            current_agent_obj.set(self.agent),
            current_turn.set(self),
        )

    @staticmethod
    def leave(tokens: tuple[Any, ...]) -> None:
        run_t, agent_t, obj_t, turn_t = tokens
        current_turn.reset(turn_t)
        current_agent_obj.reset(obj_t)
        current_agent.reset(agent_t)
        if run_t is not None:
            current_run.reset(run_t)

    def emit_turn(self, error: BaseException | None) -> None:
        if self.run is None or self.run.ended:
            return
        payload: dict[str, Any] = {
            "turn_id": self.turn_id,
            "started_ts": self.started,
            "duration_ms": (time.perf_counter() - self._perf) * 1000,
        }
        if error is not None:
            payload["error"] = error_payload(error)
        self.run.emit_payload("agent_turn", self.name, payload)


def _team_run_of(member: Any) -> RunRecorder | None:
    """The recorded run of the group chat ``member`` (a participant, or a manager by its output queue)
    belongs to, for code running where no run is current (a runtime started outside the run)."""
    recorder = active()
    if recorder is None or not recorder.team_runs:
        return None
    return recorder.team_runs.get(id(member)) or recorder.team_runs.get(
        id(getattr(member, "_output_message_queue", None))
    )


def _should_record(agent: Any) -> bool:
    return active() is not None and current_agent_obj.get() is not agent


async def _recorded_turn_stream(
    original: Callable[..., Any], agent: Any, messages: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncGenerator[Any, None]:
    turn = safely("an agent turn", _Turn, agent, messages)
    inner = original(agent, messages, *args, **kwargs)
    if turn is None or turn.run is None:
        async for item in inner:
            yield item
        return
    status, error = "ok", None
    try:
        while True:
            tokens = turn.enter()
            try:
                item = await inner.__anext__()
            except StopAsyncIteration:
                break
            finally:
                turn.leave(tokens)
            if type(item).__name__ == "Response":
                turn.saw_response = True
            if turn.live is not None:
                turn.live.record_item(item)
            elif turn.yields_to is not None:
                turn.yields_to.record_yielded(item)
            yield item
    except BaseException as e:
        status, error = status_of(e), e
        if isinstance(e, GeneratorExit) and turn.saw_response:
            status, error = "ok", None
        raise
    finally:
        try:
            await inner.aclose()
        finally:
            safely("an agent turn", turn.emit_turn, error if status != "ok" else None)
            if turn.direct is not None:
                await finish(turn.direct, status, agent, error)


async def _live_stream(inner: AsyncGenerator[Any, None], run: RunRecorder) -> AsyncGenerator[Any, None]:
    """Yield what ``inner`` yields, recording each item into ``run`` as it comes."""
    try:
        async for item in inner:
            run.record_item(item)
            yield item
    finally:
        await inner.aclose()


def _turn_to_tap(agent: Any) -> Any:
    """The turn of ``agent`` whose messages its own ``on_messages_stream`` should record live."""
    turn = current_turn.get()
    if turn is None or turn.agent is not agent or turn.live is None or turn.tapped:
        return None
    turn.tapped = True
    return turn


def wrap_on_messages_stream(original: Callable[..., Any]) -> Callable[..., Any]:
    def on_messages_stream(self: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
        if not _should_record(self):
            inner = original(self, messages, *args, **kwargs)
            turn = safely("an agent turn", _turn_to_tap, self)
            return inner if turn is None else _live_stream(inner, turn.live)
        return _recorded_turn_stream(original, self, messages, args, kwargs)

    return on_messages_stream


def wrap_on_messages(original: Callable[..., Any]) -> Callable[..., Any]:
    async def on_messages(self: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
        if not _should_record(self):
            return await original(self, messages, *args, **kwargs)
        turn = safely("an agent turn", _Turn, self, messages)
        if turn is None or turn.run is None:
            return await original(self, messages, *args, **kwargs)
        tokens = turn.enter()
        try:
            response = await original(self, messages, *args, **kwargs)
        except BaseException as e:
            turn.leave(tokens)
            safely("an agent turn", turn.emit_turn, e)
            if turn.direct is not None:
                await finish(turn.direct, status_of(e), self, e)
            raise
        turn.leave(tokens)
        if turn.direct is not None:
            safely(
                "the messages of a run",
                turn.direct.record_messages,
                getattr(response, "inner_messages", None),
            )
            safely("the messages of a run", turn.direct.record_item, getattr(response, "chat_message", None))
        safely("an agent turn", turn.emit_turn, None)
        if turn.direct is not None:
            await finish(turn.direct, "ok", self)
        return response

    return on_messages


def wrap_manager_handler(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps group chat managers' ``on_message_impl``: what a group chat manager does is its own.

    A manager may call its model outside ``select_speaker`` (MagenticOne's orchestrator plans, keeps
    its ledgers and writes the final answer from its message handlers): those calls are attributed
    to the manager's label (e.g. ``orchestrator``) instead of to no agent.
    """

    async def on_message_impl(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        label = SELECTOR_LABELS.get(type(self).__name__)
        if label is None and not _is_manager(self):
            return await original(self, message, *args, **kwargs)
        token = current_agent.set(label or type(self).__name__)
        # On a runtime started outside the run, no run is current here: the manager's team run is.
        team_run = _team_run_of(self) if current_run.get() is None else None
        run_token = current_run.set(team_run) if team_run is not None else None
        try:
            return await original(self, message, *args, **kwargs)
        finally:
            if run_token is not None:
                current_run.reset(run_token)
            current_agent.reset(token)

    return on_message_impl


MODEL_FREE_HANDLERS = frozenset(
    {"RoundRobinGroupChatManager", "SwarmGroupChatManager", "SelectorGroupChatManager", "GraphFlowManager"}
)
"""Managers (exactly these classes) whose message handlers call no model: the selector's model is
called from ``select_speaker``, which says who calls it. Their handlers are left unwrapped."""

SELF_SELECTING = {"MagenticOneOrchestrator"}
"""Managers that pick the next speaker outside ``select_speaker`` (from their own model calls)."""


def wrap_publish_message(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a self-selecting manager's ``publish_message`` to see the speaker it asks to speak."""

    async def publish_message(self: Any, message: Any, topic_id: Any, *args: Any, **kwargs: Any) -> Any:
        if type(self).__name__ in SELF_SELECTING and type(message).__name__ == "GroupChatRequestPublish":
            safely("a speaker selection", _record_speaker_request, self, topic_id)
        return await original(self, message, topic_id, *args, **kwargs)

    return publish_message


def _record_speaker_request(manager: Any, topic_id: Any) -> None:
    run = current_run.get()
    if run is None:
        return
    topics = getattr(manager, "_participant_name_to_topic_type", None) or {}
    selected = [name for name, topic in topics.items() if topic == getattr(topic_id, "type", None)]
    label = SELECTOR_LABELS.get(type(manager).__name__, type(manager).__name__)
    run.emit("speaker_selection", label, selector=type(manager).__name__, selected=selected, duration_ms=None)


_MANAGER_TYPES: dict[type, bool] = {}
"""Whether each class seen is a group chat manager (``isinstance`` on it is slow: a Generic ABC)."""


def _is_manager(obj: Any) -> bool:
    cls = type(obj)
    known = _MANAGER_TYPES.get(cls)
    if known is None:
        from autogen_agentchat.teams._group_chat._base_group_chat_manager import BaseGroupChatManager

        known = _MANAGER_TYPES[cls] = issubclass(cls, BaseGroupChatManager)
    return known


def wrap_select_speaker(original: Callable[..., Any]) -> Callable[..., Any]:
    async def select_speaker(self: Any, thread: Any, *args: Any, **kwargs: Any) -> Any:
        run = current_run.get()
        run_token = None
        if run is None:
            run = _team_run_of(self)
            if run is None:
                return await original(self, thread, *args, **kwargs)
            run_token = current_run.set(run)  # the selector's model call is this run's
        label = SELECTOR_LABELS.get(type(self).__name__, type(self).__name__)
        token = current_agent.set(label)
        selection: dict[str, Any] = {}
        selection_token = current_selection.set(selection)
        perf = time.perf_counter()
        funcs = safely("a speaker selection", _watch_selection_funcs, self, selection)
        try:
            result = await original(self, thread, *args, **kwargs)
        except Exception as e:  # a selector_func that raises, an unknown name: the selection failed
            failed = {"error": error_payload(e)}
            safely(
                "a failed speaker selection", _emit_selection, run, self, label, [], selection, perf, failed
            )
            raise
        finally:
            if funcs is not None:
                safely("a speaker selection", _unwatch_selection_funcs, self, funcs)
            current_selection.reset(selection_token)
            current_agent.reset(token)
            if run_token is not None:
                current_run.reset(run_token)
        selected = [result] if isinstance(result, str) else list(result or [])
        decided = {"decided_by": _decided_by(selection, funcs)} if funcs is not None else {}
        safely("a speaker selection", _emit_selection, run, self, label, selected, selection, perf, decided)
        return result

    return select_speaker


def _emit_selection(
    run: RunRecorder,
    manager: Any,
    label: str,
    selected: list[Any],
    selection: dict[str, Any],
    perf: float,
    extra: dict[str, Any],
) -> None:
    run.emit(
        "speaker_selection",
        label,
        selector=type(manager).__name__,
        selected=[str(s) for s in selected],
        candidates=selection.get("candidates"),
        duration_ms=(time.perf_counter() - perf) * 1000,
        **extra,
    )


_SELECTION_FUNCS = ("_selector_func", "_candidate_func")


def _watch_selection_funcs(manager: Any, selection: dict[str, Any]) -> dict[str, Any] | None:
    """For a SelectorGroupChat's manager: swap its ``selector_func``/``candidate_func`` (for this one
    selection) for callers that note what they returned in ``selection``. Returns the originals to put
    back, or None for a manager that has no such functions."""
    if not all(hasattr(manager, name) for name in _SELECTION_FUNCS):
        return None
    originals = {name: getattr(manager, name) for name in _SELECTION_FUNCS}
    try:
        for name, func in originals.items():
            if func is not None:
                setattr(manager, name, _noting(func, selection, name.lstrip("_")))
    except Exception:
        _unwatch_selection_funcs(manager, originals)  # all or nothing
        raise
    return originals


def _unwatch_selection_funcs(manager: Any, originals: dict[str, Any]) -> None:
    for name, func in originals.items():
        setattr(manager, name, func)


def _noting(func: Callable[..., Any], selection: dict[str, Any], key: str) -> Callable[..., Any]:
    """``func`` (sync or async, as it was), noting what it returns under ``selection[key]``."""
    if inspect.iscoroutinefunction(func):

        async def noted_async(*args: Any, **kwargs: Any) -> Any:
            selection[key] = result = await func(*args, **kwargs)
            return result

        return noted_async

    def noted(*args: Any, **kwargs: Any) -> Any:
        selection[key] = result = func(*args, **kwargs)
        return result

    return noted


def _decided_by(selection: dict[str, Any], funcs: dict[str, Any] | None) -> str | None:
    """Who picked the speaker in a SelectorGroupChat: its ``selector_func``, the model (choosing among
    ``candidates``), its ``candidate_func`` (one candidate left), or the rules (only one possible)."""
    if funcs is None:
        return None
    if selection.get("selector_func") is not None:
        return "selector_func"
    if "candidates" in selection:
        return "model"
    return "candidate_func" if "candidate_func" in selection else "the only candidate"


def wrap_model_selection(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``SelectorGroupChatManager._select_speaker``: notes who the model could choose from.

    Called only when there is a choice to make (after ``selector_func`` declined and
    ``candidate_func`` or the no-repeat rule left several candidates).
    """

    async def _select_speaker(self: Any, roles: Any, participants: Any, *args: Any, **kwargs: Any) -> Any:
        selection = current_selection.get()
        if selection is not None:
            selection["candidates"] = [str(p) for p in participants or []]
        return await original(self, roles, participants, *args, **kwargs)

    return _select_speaker
