"""Reading what autogen logs about model calls, whoever owns the logger's handlers.

AutoGen's clients call ``logging.getLogger(EVENT_LOGGER_NAME).info(LLMCallEvent(...))`` inside
``create``. teamtape does not add a handler (AutoGen Studio replaces that logger's handlers, and a
handler would need the logger's level lowered, which would change what the user's own handlers
print). Instead the logger object's class is swapped for a subclass whose ``info`` first hands the
event to teamtape, then behaves exactly as before. ``remove_tap`` restores the original class.
"""

from __future__ import annotations

import logging
from typing import Any

from ._context import current_llm_call

_TAPPED: dict[str, type] = {}
_LLM_EVENTS = ("LLMCallEvent", "LLMStreamEndEvent")


def _observe(msg: Any) -> None:
    state = current_llm_call.get()
    if state is None or type(msg).__name__ not in _LLM_EVENTS:
        return
    kwargs = getattr(msg, "kwargs", None)
    if isinstance(kwargs, dict):
        state["raw"] = {k: v for k, v in kwargs.items() if k != "messages"}


def install_tap(logger_name: str) -> None:
    """Make ``logger_name``'s ``info`` calls visible to teamtape (idempotent)."""
    if logger_name in _TAPPED:
        return
    logger = logging.getLogger(logger_name)
    original = type(logger)

    def info(self: logging.Logger, msg: Any, *args: Any, **kwargs: Any) -> None:
        if current_llm_call.get() is not None:  # autogen logs every message: most are no model call's
            try:
                _observe(msg)
            except Exception:
                pass
        original.info(self, msg, *args, **kwargs)

    logger.__class__ = type(f"Teamtape{original.__name__}", (original,), {"info": info})
    _TAPPED[logger_name] = original


def remove_tap(logger_name: str) -> None:
    original = _TAPPED.pop(logger_name, None)
    if original is not None:
        logging.getLogger(logger_name).__class__ = original
