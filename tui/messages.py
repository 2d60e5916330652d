"""Typed messages: what workers post back to the UI, and what the app's widgets tell their screens."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ._compare import Comparison
    from ._data import CostBreakdown, EventDetail, RunRow, Timeline
    from ._runs_model import Line


@dataclass
class RunsLoaded(Message):
    """The runs table's lines after a (re)load; ``total`` counts every run in the store."""

    lines: list[Line]
    matched: int
    total: int
    fingerprint: tuple[int, int]
    partial: bool = False
    """Only the first page of a big store: the whole list follows."""
    painted: threading.Event | None = None
    """Set by the UI once these lines are on screen."""


@dataclass
class TimelineLoaded(Message):
    """A run's timeline: the whole of it, or the entries recorded since the last load (``append``)."""

    timeline: Timeline
    append: bool
    parent_key: tuple[str, int, str] | None = None
    """Set when this is a nested run being expanded under that entry."""
    refresh: bool = False
    """With ``parent_key``: the nested run is expanded already and has grown; its lines are replaced."""
    painted: threading.Event | None = None
    """Set by the UI once these entries are on screen (the worker waits for it before loading more)."""


@dataclass
class DetailLoaded(Message):
    """The whole of one event (an LLM call with its request resolved), for the inspector."""

    key: tuple[str, int, str]
    detail: EventDetail


@dataclass
class CostsLoaded(Message):
    """The cost breakdown of a run."""

    run: RunRow
    costs: CostBreakdown


@dataclass
class ComparisonLoaded(Message):
    """Two runs aligned step by step."""

    left: RunRow
    right: RunRow
    comparison: Comparison


@dataclass
class LoadFailed(Message):
    """A query failed; ``what`` says which one, ``error`` what went wrong (already user-readable)."""

    what: str
    error: str


@dataclass
class CursorMoved(Message):
    """The cursor of a table moved to ``index``."""

    table: object
    index: int


@dataclass
class RowChosen(Message):
    """Enter or a double click on row ``index``."""

    table: object
    index: int


@dataclass
class HeaderClicked(Message):
    """A click on a column header."""

    table: object
    column: str
