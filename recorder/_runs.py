"""Runs: team ``run_stream``, agent ``run``/``run_stream`` and direct ``on_messages`` calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

from ._active import active
from ._context import current_run, next_within
from ._guard import failures, safely
from ._run import RunRecorder

STOPPED_READING = "the caller stopped reading the stream"
"""The stop reason of a run whose stream its caller let go before the end."""


def participants_of(owner: Any) -> list[str]:
    members = getattr(owner, "_participants", None)
    if members:
        return [str(getattr(m, "name", m)) for m in members]
    name = getattr(owner, "name", None)
    return [str(name)] if name else []


def start_run(owner: Any, task: Any, extra: dict[str, Any] | None = None) -> RunRecorder | None:
    """Begin recording a run of ``owner`` (a team or an agent), or None when not recording."""
    recorder = active()
    if recorder is None:
        return None
    parent = current_run.get()
    run = RunRecorder(
        recorder, owner, team_type=type(owner).__name__, participants=participants_of(owner), parent=parent
    )
    if parent is None:
        from ._instrument import refresh_patches

        refresh_patches()
        if recorder.top_level_extra:
            extra = {**recorder.top_level_extra, **(extra or {})}
    elif recorder.nested_extra is not None:
        extra = {**(safely("a nested run's link", recorder.nested_extra, parent) or {}), **(extra or {})}
    run.start(owner, task, extra)
    return run


def _task_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("task", args[0] if args else None)


def status_of(error: BaseException) -> str:
    return (
        "cancelled"
        if isinstance(error, (asyncio.CancelledError, GeneratorExit, KeyboardInterrupt))
        else "error"
    )


async def finish(run: RunRecorder, status: str, owner: Any, error: BaseException | None = None) -> None:
    """End a run without ever raising into the caller."""
    try:
        await run.end(status, owner=owner, stop_reason=run.stop_reason, error=error)
    except BaseException as e:
        if isinstance(e, (asyncio.CancelledError, KeyboardInterrupt)):
            run.end_sync(status, stop_reason=run.stop_reason, error=error)
            raise
        failures.report("the end of a run", e)


def record_output_at_source(team: Any, run: RunRecorder) -> Callable[[], None] | None:
    """Record a group chat's output where it is made, not when the caller reads it; returns what undoes
    that, or None where the stream is to be recorded as it is read: a team without an output queue, or
    one whose queue is recorded already (a subclass's ``run_stream`` calling its base class's).

    The caller reads ``run_stream`` from a queue the team fills while it runs on, so by the time it
    reads an agent's tool call request, the tool may have run and the next model call may be done:
    recorded as read, effects would come before their causes. So what the participants yield is recorded
    as they yield it (see ``_turns``), and what the manager puts on the queue (the task, selections,
    events of nested teams) as it puts it. The stream's items and their order are unchanged; what
    the team still says after its caller stopped reading (it runs on until its runtime is idle) is
    recorded too, up to the end of the run.
    """
    queue = getattr(team, "_output_message_queue", None)
    if not isinstance(queue, asyncio.Queue) or "put" in vars(queue):
        return None
    put_on_queue = queue.put

    async def put(item: Any) -> None:
        run.record_output(item)  # never raises
        await put_on_queue(item)

    queue.put = put  # type: ignore[method-assign]
    run.yielding_participants = frozenset(map(id, getattr(team, "_participants", None) or []))
    keys = [*run.yielding_participants, id(queue)]
    run.recorder.team_runs.update(dict.fromkeys(keys, run))

    def undo() -> None:
        if vars(queue).get("put") is put:
            del queue.put
        run.yielding_participants = frozenset()
        for key in keys:
            if run.recorder.team_runs.get(key) is run:
                del run.recorder.team_runs[key]

    return undo


async def recorded_stream(
    inner: AsyncGenerator[Any, None], run: RunRecorder, owner: Any
) -> AsyncGenerator[Any, None]:
    """Yield what ``inner`` yields, recording each item, with the run set only while inner runs.

    The run is set around each step of ``inner`` (not between steps), so code the caller runs
    inside its ``async for`` loop is not mistaken for part of this run. A group chat's items are
    recorded where they are made (:func:`record_output_at_source`); only its final result is read here.
    """
    status, error = "ok", None
    undo_at_source = safely("a team's messages", record_output_at_source, owner, run)
    try:
        while True:
            try:
                item = await next_within(current_run, run, inner)
            except StopAsyncIteration:
                break
            if undo_at_source is None or type(item).__name__ == "TaskResult":
                run.record_item(item)
            yield item
    except GeneratorExit:
        status = "ok" if run.saw_result else "cancelled"
        if status == "cancelled":
            run.stop_reason = run.stop_reason or STOPPED_READING
        raise
    except BaseException as e:
        status, error = status_of(e), e
        raise
    finally:
        try:
            await inner.aclose()
        finally:
            if undo_at_source is not None:
                safely("a team's messages", undo_at_source)
            await finish(run, status, owner, error)


def wrap_run_stream(original: Callable[..., Any]) -> Callable[..., Any]:
    def run_stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = safely("the start of a run", start_run, self, _task_arg(args, kwargs))
        inner = original(self, *args, **kwargs)
        if run is None:
            return inner
        return recorded_stream(inner, run, self)

    return run_stream


def wrap_agent_run(original: Callable[..., Any]) -> Callable[..., Any]:
    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec_run = safely("the start of a run", start_run, self, _task_arg(args, kwargs))
        if rec_run is None:
            return await original(self, *args, **kwargs)
        # The agent's turn records the messages as they happen; the result only adds any it missed.
        rec_run.live_owner = self
        rec_run.record_inputs = bool(kwargs.get("output_task_messages", True))
        token = current_run.set(rec_run)
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as e:
            current_run.reset(token)
            await finish(rec_run, status_of(e), self, e)
            raise
        current_run.reset(token)
        safely("the messages of a run", rec_run.record_messages, getattr(result, "messages", None))
        rec_run.stop_reason = getattr(result, "stop_reason", None)
        await finish(rec_run, "ok", self)
        return result

    return run


def wrap_reset(original: Callable[..., Any]) -> Callable[..., Any]:
    """``team.reset()`` starts a new conversation, so the team's next run starts a new session."""

    async def reset(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        from . import _active

        for recorder in list(_active._stack):
            safely("a team reset", recorder.sessions.pop, self, None)
        return result

    return reset
