"""The teamtape terminal UI (Textual): browse runs, conversations, LLM calls, tools and costs, live.

The only package of teamtape that imports textual, and only when the app itself is used: the data
modules (``_data``, ``_filter``, ``_timeline``, ``_compare``, ``_runs_model``, ``_format``) are headless.
Start it with ``teamtape tui`` or :func:`run_tui`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import TeamtapeApp, check_store, run_tui

__all__ = ["TeamtapeApp", "check_store", "run_tui"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
