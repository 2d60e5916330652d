"""Model calls made outside any team or agent run: ``await model_client.create([...])`` in a script.

The handbook's first samples call a client directly; while teamtape records, each such call is a run
of its own (``team_type`` is the client's class, the task the request's last user message), and the
calls of one client object share a session, as a team's successive runs do.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from ._context import current_run, next_within
from ._guard import safely
from ._run import RunRecorder
from ._runs import STOPPED_READING, finish, start_run, status_of


def start_direct_run(client: Any, messages: Any) -> RunRecorder | None:
    """A run for one model call of ``client`` made outside any run, or None when not recording."""
    return start_run(client, last_user_text(messages), {"direct_model_call": True})


def last_user_text(messages: Any) -> str | None:
    """The text of the request's last user message: what the call was asked."""
    for message in reversed(list(messages or [])):
        if type(message).__name__ == "UserMessage":
            content = getattr(message, "content", None)
            if isinstance(content, str):
                return content
            texts = [part for part in content or [] if isinstance(part, str)]
            return "\n".join(texts) or None
    return None


async def direct_create(
    create: Callable[..., Awaitable[Any]],
    client: Any,
    messages: Any,
    run: RunRecorder,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``create(client, messages, ...)`` as the one call of ``run``, which ends with it."""
    token = current_run.set(run)
    try:
        result = await create(client, messages, *args, **kwargs)
    except BaseException as e:
        current_run.reset(token)
        await finish(run, status_of(e), None, e)
        raise
    current_run.reset(token)
    await finish(run, "ok", None)
    return result


async def direct_stream(
    client: Any,
    messages: Any,
    *,
    recorded: Callable[[], AsyncGenerator[Any, None]],
    plain: Callable[[], AsyncGenerator[Any, None]],
) -> AsyncGenerator[Any, None]:
    """A streamed call as the one call of a run that starts when the stream is first read (a stream
    never read asked nothing) and ends with it. ``recorded`` makes the recorded stream, ``plain`` the
    unrecorded one (when the run cannot start)."""
    run = safely("the start of a run", start_direct_run, client, messages)
    if run is None:
        async for item in plain():
            yield item
        return
    token = current_run.set(run)
    try:
        stream = recorded()
    finally:
        current_run.reset(token)
    status, error, answered = "ok", None, False
    try:
        while True:
            try:
                item = await next_within(current_run, run, stream)
            except StopAsyncIteration:
                break
            answered = answered or type(item).__name__ == "CreateResult"
            yield item
    except GeneratorExit:
        status = "ok" if answered else "cancelled"
        if not answered:
            run.stop_reason = STOPPED_READING
        raise
    except BaseException as e:
        status, error = status_of(e), e
        raise
    finally:
        try:
            await stream.aclose()
        finally:
            await finish(run, status, None, error)
