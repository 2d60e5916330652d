"""Wrapping autogen methods and restoring them exactly."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

MARK = "__teamtape_wrapped__"
_ABSENT = object()  # what a class held before an inherited method was wrapped on it: nothing


def all_subclasses(base: type) -> list[type]:
    """``base`` and every class below it that is loaded now."""
    seen: list[type] = []
    stack = [base]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.append(cls)
        try:
            stack.extend(cls.__subclasses__())
        except TypeError:
            continue
    return seen


class Patcher:
    """Remembers every method it replaced so that :meth:`restore` puts the originals back."""

    def __init__(self) -> None:
        self._patched: list[tuple[type, str, Any]] = []

    def wrap(
        self,
        cls: type,
        name: str,
        make_wrapper: Callable[[Callable[..., Any]], Callable[..., Any]],
        *,
        inherited: bool = False,
    ) -> bool:
        """Replace ``cls.name`` (only where ``cls`` itself defines it) with ``make_wrapper(original)``.

        With ``inherited``, a method ``cls`` inherits is wrapped on ``cls`` too (so its base classes'
        other subclasses are left alone); :meth:`restore` then removes the wrapper again.
        """
        own = cls.__dict__.get(name)
        if own is not None:
            raw, restore_to = own, own
        elif inherited:  # from the nearest base that defines it; restore() deletes it from cls again
            raw = next((base.__dict__[name] for base in cls.__mro__[1:] if name in base.__dict__), None)
            if raw is None or isinstance(raw, staticmethod | classmethod):
                return False
            restore_to = _ABSENT
        else:
            return False
        is_static = isinstance(raw, staticmethod)
        func = raw.__func__ if is_static else raw
        if getattr(func, MARK, False) or not callable(func) or getattr(func, "__isabstractmethod__", False):
            return False
        wrapper = make_wrapper(func)
        functools.update_wrapper(wrapper, func)
        setattr(wrapper, MARK, True)
        setattr(cls, name, staticmethod(wrapper) if is_static else wrapper)
        self._patched.append((cls, name, restore_to))
        return True

    def wrap_tree(
        self,
        base: type,
        names: Iterable[str],
        make_wrapper: Callable[[Callable[..., Any]], Callable[..., Any]],
    ) -> None:
        """Wrap ``names`` on ``base`` and on each loaded subclass that defines them itself."""
        for cls in all_subclasses(base):
            for name in names:
                self.wrap(cls, name, make_wrapper)

    def restore(self) -> None:
        for cls, name, raw in reversed(self._patched):
            if raw is _ABSENT:
                delattr(cls, name)
            else:
                setattr(cls, name, raw)
        self._patched.clear()

    def __len__(self) -> int:
        return len(self._patched)
