"""Which Recorder receives events right now (the innermost ``record()``, or ``instrument()``'s)."""

from __future__ import annotations

from ._recorder import Recorder

_stack: list[Recorder] = []


def active() -> Recorder | None:
    return _stack[-1] if _stack else None


def push(recorder: Recorder) -> None:
    _stack.append(recorder)


def pop(recorder: Recorder) -> None:
    if recorder in _stack:
        _stack.remove(recorder)
