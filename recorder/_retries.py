"""Retries the provider's SDK makes inside one model call (an HTTP 429 or 500, a dropped connection).

The openai and anthropic SDKs retry on their own before AutoGen's ``create`` returns or raises, so
a call that waited out two rate limits looks like one slow call. Their clients sleep between
attempts in ``AsyncAPIClient._sleep_for_retry``, called while the failed attempt's error is being
handled: wrapping it tells which call retried, after what, and how long it waited.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

from ._context import current_llm_call
from ._guard import safely
from ._patch import Patcher

RETRYING_SDKS = ("openai._base_client", "anthropic._base_client")
"""Modules whose ``AsyncAPIClient`` sleeps in ``_sleep_for_retry`` between attempts."""


def wrap_retry_sleeps(patcher: Patcher) -> None:
    """Wrap the retry sleeps of the SDKs above that are imported (none is imported for this)."""
    for name in RETRYING_SDKS:
        if name.partition(".")[0] not in sys.modules:
            continue
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        cls = getattr(module, "AsyncAPIClient", None)  # AutoGen's clients are all async
        if isinstance(cls, type):
            patcher.wrap(cls, "_sleep_for_retry", _async_sleep)


def retry_reason(response: Any) -> str:
    """What the attempt before a retry ended with: ``HTTP 429``, or the error's type (``ConnectTimeout``)."""
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return f"HTTP {status}"
    error = sys.exc_info()[1]  # the SDK retries from inside its ``except`` block
    return type(error).__name__ if error is not None else "unknown"


def _async_sleep(original: Callable[..., Any]) -> Callable[..., Any]:
    async def sleep_for_retry(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = current_llm_call.get()
        if not state:
            return await original(self, *args, **kwargs)
        reason = safely("a model call's retry", retry_reason, kwargs.get("response"))
        started = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            waited_ms = round((time.perf_counter() - started) * 1000, 3)
            state.setdefault("retries", []).append({"after": reason or "unknown", "wait_ms": waited_ms})

    return sleep_for_retry
