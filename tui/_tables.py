"""The app's three tables: runs, a run's timeline, and two runs side by side."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType

from ._compare import Comparison
from ._data import RunRow
from ._format import (
    counted,
    fmt_cost,
    fmt_duration,
    fmt_offset,
    fmt_started,
    fmt_tokens,
    one_line,
    short_id,
    with_failures,
)
from ._runs_model import Line, RunLine, live_duration_ms
from ._timeline import GLYPHS, Entry, Marker
from ._virtual import Cell, Column, VirtualTable

STATUS_GLYPH = {"running": "◐", "ok": "●", "error": "✗", "cancelled": "○", "crashed": "☠"}


STATUS_WIDTH = 13
"""The Status column: "● ok ⚠2" and "○ cancelled" fit, and at 80 columns the message counts still do."""


def status_text(run: RunRow) -> str:
    """``● ok``, with ``⚠2`` when two of the run's own model or tool calls failed (the team went on)."""
    text = with_failures(f"{STATUS_GLYPH.get(run.status, '?')} {run.status}", run.failed_calls)
    return text if len(text) <= STATUS_WIDTH else text.replace(" ⚠", "⚠")  # "○ cancelled⚠1" fits


AGENT_COLOURS = (
    "#5fafff",
    "#ff875f",
    "#87d75f",
    "#d787d7",
    "#e5c07b",
    "#56b6c2",
    "#ff6f91",
    "#b0b05f",
    "#8fa0ff",
    "#f0a050",
)
"""Agents get these colours in order of first appearance (the same agent keeps its colour)."""


class RunsTable(VirtualTable):
    """Runs, sessions and nested runs (see :func:`teamtape.tui._runs_model.arrange`)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "choose", "Open")]  # in the footer

    COMPONENT_CLASSES = VirtualTable.COMPONENT_CLASSES | {
        "status--running",
        "status--ok",
        "status--error",
        "status--cancelled",
        "status--crashed",
        "runs--session",
        "runs--dim",
        "runs--marked",
    }
    WIDE_STARTED = 110
    """Below this width the Started column drops the year and seconds."""
    columns = (
        Column("started", "Started", 19, drop=0),
        Column("run", "Run / team", 0, min_width=24),
        Column("status", "Status", STATUS_WIDTH),
        Column("stop", "Stop reason / error", 0, min_width=18, drop=5),
        Column("messages", "Msgs", 5, right=True, drop=2),
        Column("llm", "LLM", 4, right=True, drop=3),
        Column("tokens", "Tokens", 7, right=True, drop=4),
        Column("cost", "Cost", 12, right=True),  # fmt_cost's longest: ≥$0.00000015
        Column("duration", "Duration", 8, right=True, drop=1),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Line] = []
        self.marked: str | None = None
        self.sort_column, self.sort_reverse = "started", True
        self.short_times = False

    def on_resize(self, event: events.Resize) -> None:
        short = event.size.width < self.WIDE_STARTED
        if short != self.short_times:
            self.short_times = short
            width = 11 if short else 19
            self.columns = (Column("started", "Started", width), *type(self).columns[1:])
            self._layout_width = -1  # VirtualTable.on_resize (called after this one) lays out again

    def set_lines(self, lines: list[Line], keep: str | None = None) -> None:
        """Show ``lines``, keeping the cursor on the line whose key is ``keep`` if it is still there."""
        self.lines = lines
        index = next((i for i, line in enumerate(lines) if line.key == keep), None) if keep else None
        self.set_row_count(len(lines), cursor=index if index is not None else (self.cursor if keep else 0))

    @property
    def current(self) -> Line | None:
        return self.lines[self.cursor] if 0 <= self.cursor < len(self.lines) else None

    def row_style(self, index: int) -> Style | None:
        if isinstance(self.lines[index], RunLine):
            return None
        return self.cstyle("runs--session")

    def row_cells(self, index: int) -> list[Cell]:
        line = self.lines[index]
        if not isinstance(line, RunLine):
            return [
                ("◇ session", None),
                (f"{short_id(line.session_id)} · {counted(line.runs, 'run')}", None),
                ("", None),
                ("", None),
                ("", None),
                ("", None),
                ("", None),
                (fmt_cost(line.cost_usd, unpriced=line.unpriced_calls), None),
                ("", None),
            ]
        run = line.run
        indent = "  " * line.depth
        tree = indent + ("└ " if line.nested else "")
        mark = "★ " if run.run_id == self.marked else ""
        status_style = self.cstyle(f"status--{run.status}") if run.status in STATUS_GLYPH else None
        stop = run.error or run.stop_reason or ""
        dim = self.cstyle("runs--dim")
        return [
            (fmt_started(run.started, short=self.short_times), dim),
            (f"{tree}{mark}{run.title}", self.cstyle("runs--marked") if mark else None),
            (status_text(run), status_style),
            (one_line(stop, 200), status_style if run.error else dim),
            (str(run.messages), None),
            (str(run.llm_calls), None),
            (fmt_tokens(run.tokens), None),
            (fmt_cost(run.cost_usd, unpriced=run.unpriced_calls), None),
            (fmt_duration(live_duration_ms(run)), None),
        ]


class MarkerStyles:
    """Styles for timeline markers and agents, shared by the timeline and the comparison view."""

    def __init__(self, table: VirtualTable) -> None:
        self.table = table
        self.agents: dict[str, Style] = {}

    def agent(self, name: str | None) -> Style | None:
        if not name:
            return None
        if name not in self.agents:
            self.agents[name] = Style(color=AGENT_COLOURS[len(self.agents) % len(AGENT_COLOURS)], bold=True)
        return self.agents[name]

    def marker(self, entry: Entry) -> Style:
        if entry.is_error or entry.marker is Marker.ERROR:
            return self.table.cstyle("timeline--error")
        group = {
            Marker.TOOL_CALL: "tool",
            Marker.TOOL_RESULT: "tool",
            Marker.TOOL: "tool",
            Marker.NESTED: "nested",
            Marker.HANDOFF: "handoff",
            Marker.LLM: "llm",
            Marker.STREAM: "llm",
            Marker.TEXT: "text",
        }
        return self.table.cstyle(f"timeline--{group.get(entry.marker, 'dim')}")


_MARKER_CLASSES = {
    "timeline--error",
    "timeline--tool",
    "timeline--nested",
    "timeline--handoff",
    "timeline--llm",
    "timeline--text",
    "timeline--dim",
}


class TimelineTable(VirtualTable):
    """A run's events, one line each, nested runs indented under the line that started them."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "choose", "Expand/inspect")]  # in the footer

    COMPONENT_CLASSES = VirtualTable.COMPONENT_CLASSES | _MARKER_CLASSES
    columns = (
        Column("time", "Time", 9, right=True, drop=2),
        Column("agent", "Agent", 14, drop=0),
        Column("marker", "Kind", 10),
        Column("summary", "What happened", 0, min_width=20),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[Entry] = []
        self.start_ts = 0.0
        self.palette = MarkerStyles(self)

    @property
    def current(self) -> Entry | None:
        return self.entries[self.cursor] if 0 <= self.cursor < len(self.entries) else None

    def set_entries(self, entries: list[Entry], start_ts: float, cursor: int | None = None) -> None:
        self.entries, self.start_ts = entries, start_ts
        for e in entries:
            self.palette.agent(e.agent)
        self.set_row_count(len(entries), cursor)

    def row_cells(self, index: int) -> list[Cell]:
        e = self.entries[index]
        pad = "│ " * e.depth
        glyph = GLYPHS[e.marker]
        if e.marker is Marker.NESTED:
            glyph = ("▾" if e.expanded else "▸") + glyph[1:]
        return [
            (fmt_offset(e.ts - self.start_ts), self.cstyle("timeline--dim")),
            (pad + (e.agent or ""), self.palette.agent(e.agent)),
            (glyph, self.palette.marker(e)),
            (e.summary, self.palette.marker(e) if e.is_error else None),
        ]


class CompareTable(VirtualTable):
    """Two runs' steps aligned: ``=`` same, ``~`` changed, ``-`` only in A, ``+`` only in B."""

    COMPONENT_CLASSES = (
        VirtualTable.COMPONENT_CLASSES
        | _MARKER_CLASSES
        | {"diff--same", "diff--changed", "diff--removed", "diff--added"}
    )
    columns = (
        Column("tag", " ", 1),
        Column("left", "Run A", 0, min_width=20),
        Column("right", "Run B", 0, min_width=20),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.comparison = Comparison([], None)
        self.palette = MarkerStyles(self)

    def set_comparison(self, comparison: Comparison, labels: tuple[str, str]) -> None:
        self.comparison = comparison
        self.columns = (
            Column("tag", " ", 1),
            Column("left", labels[0], 0, min_width=20),
            Column("right", labels[1], 0, min_width=20),
        )
        self._layout_width = -1
        self.set_row_count(len(comparison.rows), comparison.divergence or 0)

    def _side(self, e: Entry | None) -> str:
        if e is None:
            return ""
        return f"{e.agent or '·'} {GLYPHS[e.marker].split(' ', 1)[-1]}: {e.summary}"

    def row_style(self, index: int) -> Style | None:
        tag = self.comparison.rows[index].tag
        name = {"=": "same", "~": "changed", "-": "removed", "+": "added"}[tag]
        return self.cstyle(f"diff--{name}")

    def row_cells(self, index: int) -> list[Cell]:
        row = self.comparison.rows[index]
        return [(row.tag, None), (self._side(row.left), None), (self._side(row.right), None)]
