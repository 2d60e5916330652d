"""Names a package exports but imports only on first use (PEP 562), so importing it stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from ``exports[name]`` (a module,
    relative to the package or absolute) on first use and keeps it in ``namespace`` (the module's globals).

    Example:
        >>> __getattr__ = lazy_attributes("teamtape.store", {"Store": ".store"}, {})
        >>> __getattr__("Store").__name__
        'Store'
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
