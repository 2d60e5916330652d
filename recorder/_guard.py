"""The boundary between teamtape and the user's team: recorder errors never cross it."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("teamtape")


class RecorderWarning(UserWarning):
    """teamtape could not record something; the team itself was not affected."""


class FailureCounter:
    """Counts recorder failures and warns once per distinct cause."""

    def __init__(self) -> None:
        self.count = 0
        self._seen: set[str] = set()

    def report(self, where: str, error: BaseException) -> None:
        self.count += 1
        key = f"{where}:{type(error).__name__}"
        if key in self._seen:
            return
        self._seen.add(key)
        log.debug("teamtape recorder failure in %s", where, exc_info=error)
        warnings.warn(
            f"teamtape could not record {where} ({type(error).__name__}: {error}); "
            "your team is unaffected and recording continues where it can.",
            RecorderWarning,
            stacklevel=3,
        )

    def once(self, key: str, message: str) -> None:
        """Warn once about a condition that is not an exception."""
        if key in self._seen:
            return
        self._seen.add(key)
        warnings.warn(message, RecorderWarning, stacklevel=3)


failures = FailureCounter()


def safely(where: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call recorder code; on any error report it once and return None."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        failures.report(where, e)
        return None


def guarded(where: str) -> Callable[[Callable[..., T]], Callable[..., T | None]]:
    """Decorator form of :func:`safely`."""

    def deco(fn: Callable[..., T]) -> Callable[..., T | None]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> T | None:
            return safely(where, fn, *args, **kwargs)

        return inner

    return deco


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the recorder builds and drops a large temporary
    value, then put it back as it was (a program that turned it off keeps it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
