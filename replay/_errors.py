"""The errors teamtape replay raises; all are :class:`teamtape.store.TeamtapeError` subclasses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from teamtape.store import TeamtapeError


class ReplayError(TeamtapeError):
    """A recording cannot be replayed as asked (missing tape, bad option, unsafe config...)."""


class ReplayMismatchError(ReplayError):
    """A live request has no recorded counterpart (and the record mode does not allow a live call).

    Attributes:
        run_id: the recorded run (or tape) being replayed.
        agent: the agent that made the request.
        call_index: the 1-based index of the call among that agent's calls in this replay.
        kind: ``model``, ``tool`` or ``memory``.
        diff: a readable diff between the request and the closest recorded one.
    """

    def __init__(
        self, message: str, *, run_id: str | None, agent: str | None, call_index: int, kind: str, diff: str
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.agent = agent
        self.call_index = call_index
        self.kind = kind
        self.diff = diff


REPLAYED = " (replayed from the recording)"
"""Added to a replayed error's message, so that a log or ``teamtape show`` tells it from a live one."""


class RecordedModelError(Exception):
    """The recorded model call failed; the replay fails the same way.

    Not a TeamtapeError: it stands for the provider's error (e.g. an HTTP 500) inside the team. What a
    replay raises is this and, where the recorded class can be found, that class too (see
    :func:`recorded_error`): ``except openai.RateLimitError`` catches a replayed rate limit.
    """

    def __init__(self, error: dict[str, object]) -> None:
        self.recorded = error
        said = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        super().__init__(said if said.endswith(REPLAYED) else said + REPLAYED)  # a replay's replay: once


PROVIDER_MODULES = ("openai", "anthropic", "httpx", "httpx2", "builtins")
"""Where a recording without its error's module (recorded before teamtape noted it) may find the class."""


def recorded_error(error: dict[str, Any]) -> Exception:
    """The exception a recorded model call raised, raised again by its replay.

    It is an instance of the recorded class (``openai.InternalServerError``, with its status code,
    body and a response) when that class's module is already imported, and always a
    :class:`RecordedModelError`. No module is imported for it: a tape names modules, and importing runs
    code.
    """
    cls = _recorded_class(error)
    if cls is not None:
        try:
            return _as_recorded_class(cls, error)
        except Exception:  # a class that cannot be made this way (pydantic's ValidationError...)
            pass
    return RecordedModelError(error)


def _as_recorded_class(cls: type[Exception], error: dict[str, Any]) -> Exception:
    replayed = _replayed_class(cls)
    exc = replayed.__new__(replayed)
    recorded = str(error.get("message", ""))
    message = recorded if recorded.endswith(REPLAYED) else f"{recorded}{REPLAYED}"
    if not _init_as_recorded(exc, cls, error, message):
        Exception.__init__(exc, message)
    if REPLAYED not in str(exc):  # an __init__ that words its own message (a timeout's)
        exc.args = (message,)
        if isinstance(getattr(exc, "message", None), str):
            exc.message = message  # type: ignore[attr-defined]
    for name in ("status_code", "body"):  # what handlers read, even where __init__ did not set it
        if not hasattr(exc, name):
            setattr(exc, name, error.get(name))
    exc.recorded = error  # type: ignore[attr-defined]
    if REPLAYED not in str(exc):
        raise ValueError("its message cannot be told")  # (a __str__ of its own, e.g. UnicodeDecodeError's)
    return exc


def _recorded_class(error: dict[str, Any]) -> type[Exception] | None:
    name = error.get("type")
    if not isinstance(name, str) or not name.isidentifier():
        return None
    module = error.get("module")
    for where in [module] if isinstance(module, str) else PROVIDER_MODULES:
        found = getattr(sys.modules.get(where), name, None)
        # Not a BaseException alone (CancelledError, KeyboardInterrupt): those would stop the replay itself.
        if (
            isinstance(found, type)
            and issubclass(found, Exception)
            and not issubclass(found, (TeamtapeError, RecordedModelError))  # a replay's own: replayed as is
        ):
            return found
    return None


_replayed_classes: dict[type, type] = {}


def _replayed_class(cls: type[Exception]) -> type[Exception]:
    """``cls`` that is also a RecordedModelError, named as ``cls`` (so tracebacks read as recorded)."""
    replayed = _replayed_classes.get(cls)
    if replayed is None:
        replayed = type(cls.__name__, (RecordedModelError, cls), {"__module__": cls.__module__})
        _replayed_classes[cls] = replayed
    return replayed


def _init_as_recorded(exc: Exception, cls: type[Exception], error: dict[str, Any], message: str) -> bool:
    """Initialise ``exc`` as ``cls`` would be, with the recorded status and body where it takes them
    (the openai and anthropic SDKs' errors take an HTTP response or request of their own httpx)."""
    defining = sys.modules.get(getattr(cls.__init__, "__module__", "") or "")
    http = getattr(defining, "httpx2", None) or getattr(defining, "httpx", None)
    status, body = error.get("status_code"), error.get("body")
    attempts: list[Callable[[], object]] = []
    if http is not None:
        request = http.Request("POST", "https://replay.teamtape.invalid/")
        if isinstance(status, int):
            response = http.Response(status, request=request, json=body)
            attempts.append(lambda: cls.__init__(exc, message, response=response, body=body))
        attempts.append(lambda: cls.__init__(exc, message=message, request=request))  # a connection error
        attempts.append(lambda: cls.__init__(exc, request))  # a timeout
    attempts.append(lambda: cls.__init__(exc, message))
    for attempt in attempts:
        try:
            attempt()
            return True
        except Exception:
            continue
    return False
