"""Reading what autogen logs about model calls, whoever owns the logger's handlers.

AutoGen's clients call ``logging.getLogger(EVENT_LOGGER_NAME).info(LLMCallEvent(...))`` inside
``create``. teamtape does not add a handler (AutoGen Studio replaces that logger's handlers, and a
handler would need the logger's level lowered, which would change what the user's own handlers
print). Instead, while a recorded model call is in progress, the logger object's class is a subclass
whose ``info`` first hands the event to teamtape, then behaves exactly as before. AutoGen logs every
message a team sends on that logger too: between model calls the logger keeps its own class, so
those cost nothing extra. ``remove_tap`` restores the original class for good.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._context import current_llm_call

_LLM_EVENTS = ("LLMCallEvent", "LLMStreamEndEvent")
_REQUEST_PARTS = frozenset(("messages", "tools"))


def _observe(msg: Any) -> None:
    state = current_llm_call.get()
    if not state or type(msg).__name__ not in _LLM_EVENTS:  # {}: a finished call's note
        return
    kwargs = getattr(msg, "kwargs", None)
    if isinstance(kwargs, dict):  # the request's messages and tools are recorded from the call itself
        state["raw"] = {k: v for k, v in kwargs.items() if k not in _REQUEST_PARTS}


class _Tap:
    """One logger's original class, its tapped subclass, and how many model calls need the tap now."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.original = type(logger)
        original = self.original

        def info(self: logging.Logger, msg: Any, *args: Any, **kwargs: Any) -> None:
            if current_llm_call.get():  # another task may log between a call's steps
                try:
                    _observe(msg)
                except Exception:
                    pass
            original.info(self, msg, *args, **kwargs)

        self.tapped = type(f"Teamtape{original.__name__}", (original,), {"info": info})
        self.calls = 0

    def open(self) -> None:
        self.calls += 1
        if self.calls == 1 and type(self.logger) is self.original:
            self.logger.__class__ = self.tapped

    def close(self) -> None:
        self.calls = max(0, self.calls - 1)
        if self.calls == 0 and type(self.logger) is self.tapped:
            self.logger.__class__ = self.original


_TAPS: dict[str, _Tap] = {}
_lock = threading.Lock()  # model calls may run in several threads' event loops


def install_tap(logger_name: str) -> None:
    """Get ready to see ``logger_name``'s ``info`` calls during model calls (idempotent)."""
    with _lock:
        if logger_name not in _TAPS:
            _TAPS[logger_name] = _Tap(logging.getLogger(logger_name))


def open_taps() -> None:
    """A recorded model call starts: autogen's log records of it are seen from now on."""
    with _lock:
        for tap in _TAPS.values():
            tap.open()


def close_taps() -> None:
    """A recorded model call ended (each :func:`open_taps` is matched by one call of this)."""
    with _lock:
        for tap in _TAPS.values():
            tap.close()


def remove_tap(logger_name: str) -> None:
    with _lock:
        tap = _TAPS.pop(logger_name, None)
        if tap is not None and type(tap.logger) is tap.tapped:
            tap.logger.__class__ = tap.original
