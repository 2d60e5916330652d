"""A fast, virtual table: only the lines on screen are ever rendered (Textual's Line API).

The runs table, the timeline and the comparison view all hold thousands of rows; a widget per row
or a ``DataTable`` of 10,000 rows takes longer to build than the whole budget for a first paint.
Subclasses say how many rows there are and what the cells of one row are; this class lays out the
columns for the current width, draws a header, keeps a cursor and scrolls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ._format import printable
from .messages import CursorMoved, HeaderClicked, RowChosen

Cell = tuple[str, Style | None]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: a fixed ``width``, or flexible (``width=0``) sharing what is left, at least ``min_width``.

    When the table is too narrow, columns with a higher ``drop`` are hidden first (0 = never hidden).
    """

    key: str
    label: str
    width: int = 0
    min_width: int = 8
    right: bool = False
    drop: int = 0


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    text = printable(text)
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width) if not right else " " * (width - cell_len(text)) + text


class VirtualTable(ScrollView, can_focus=True):
    """A table of ``row_count`` rows drawn on demand by :meth:`row_cells`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--sorted",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "choose", "Open", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=False, init=False)
    columns: tuple[Column, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.row_count = 0
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._layout: list[tuple[Column, int]] = []
        self._layout_width = -1

    # -- what subclasses provide --------------------------------------------------------------------
    def row_cells(self, index: int) -> list[Cell]:
        """The cells of row ``index``, one per column in :attr:`columns` (hidden ones included)."""
        raise NotImplementedError

    def row_style(self, index: int) -> Style | None:
        """A style for the whole row (e.g. dim), or None."""
        return None

    def cstyle(self, name: str) -> Style:
        """The partial Rich style of a component class (only what the CSS sets for it)."""
        return self.get_component_rich_style(name, partial=True)

    @property
    def shown_columns(self) -> list[str]:
        """The keys of the columns the current width leaves on screen."""
        return [column.key for column, _ in self._layout] or [c.key for c in self.columns]

    # -- rows and cursor -------------------------------------------------------------------------------
    def set_row_count(self, count: int, cursor: int | None = None) -> None:
        """Say how many rows there are now (call after changing the data) and where the cursor goes.

        A cursor that moves with its row (rows were added or removed above it) keeps its place on the
        screen: what the reader was looking at does not jump.
        """
        old_cursor, old_top = self.cursor, int(self.scroll_y)
        was_visible = old_top <= old_cursor < old_top + max(1, self.scrollable_content_region.height - 1)
        self.row_count = count
        self.virtual_size = Size(self.size.width, count + 1)
        target = self.cursor if cursor is None else cursor
        self.set_reactive(VirtualTable.cursor, max(0, min(target, count - 1)))
        self.refresh()
        shift = self.cursor - old_cursor
        if shift and was_visible:
            self.call_after_refresh(self.scroll_to, y=max(0, old_top + shift), animate=False, immediate=True)
        self.call_after_refresh(self.scroll_to_cursor)
        self.post_message(CursorMoved(self, self.cursor))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.row_count - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_cursor()
        self.refresh()
        self.post_message(CursorMoved(self, new))

    def scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(1, self.scrollable_content_region.height - 2)

    def action_jump(self, where: int) -> None:
        self.cursor = where if where >= 0 else self.row_count - 1

    def action_choose(self) -> None:
        if self.row_count:
            self.post_message(RowChosen(self, self.cursor))

    # -- layout ----------------------------------------------------------------------------------------
    def _column_layout(self, width: int) -> list[tuple[Column, int]]:
        if width == self._layout_width:
            return self._layout
        shown = list(self.columns)
        while True:
            fixed = sum(c.width for c in shown if c.width)
            flex = [c for c in shown if not c.width]
            need = fixed + sum(c.min_width for c in flex) + len(shown) - 1
            droppable = [c for c in shown if c.drop]
            if need <= width or not droppable:
                break
            shown.remove(max(droppable, key=lambda c: c.drop))
        spare = max(0, width - fixed - (len(shown) - 1))
        flex_widths = {}
        total_min = sum(c.min_width for c in flex) or 1
        left = spare
        for i, c in enumerate(flex):
            w = left if i == len(flex) - 1 else max(c.min_width, spare * c.min_width // total_min)
            flex_widths[c.key] = max(0, w)
            left -= w
        self._layout = [(c, c.width or flex_widths[c.key]) for c in shown]
        self._layout_width = width
        return self._layout

    def on_resize(self, event: events.Resize) -> None:
        self._layout_width = -1
        self.virtual_size = Size(event.size.width, self.row_count + 1)
        self.scroll_to_cursor()

    # -- rendering -------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self._column_layout(width)
        if y == 0:
            header = base + self.cstyle("virtual-table--header")
            sorted_style = header + self.cstyle("virtual-table--sorted")
            segments = []
            for col, w in layout:
                label = col.label
                style = header
                if col.key == self.sort_column:
                    label = f"{label}{'▼' if self.sort_reverse else '▲'}"
                    style = sorted_style
                segments += [Segment(fit(label, w, col.right), style), Segment(" ", header)]
            return Strip(segments).adjust_cell_length(width, header)
        index = int(self.scroll_y) + y - 1
        if index >= self.row_count:
            return Strip.blank(width, base)
        row_style = self.row_style(index)
        line_style = base + row_style if row_style else base
        cursor = self.cstyle("virtual-table--cursor") if index == self.cursor else None
        cells = dict(zip((c.key for c in self.columns), self.row_cells(index)))
        segments = []
        for col, w in layout:
            text, style = cells.get(col.key, ("", None))
            cell_style = line_style + style if style else line_style
            if cursor is not None:  # the cursor's colours win, so the row stays readable in every theme
                cell_style = cell_style + cursor
            segments.append(Segment(fit(text, w, col.right), cell_style))
            segments.append(Segment(" ", line_style + cursor if cursor else line_style))
        if cursor is not None:
            line_style = line_style + cursor
        return Strip(segments).adjust_cell_length(width, line_style)

    # -- mouse -----------------------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for col, w in self._column_layout(self.scrollable_content_region.width):
                if x <= offset.x < x + w + 1:
                    self.post_message(HeaderClicked(self, col.key))
                    break
                x += w + 1
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < self.row_count:
            self.cursor = index
            if event.chain >= 2:
                self.post_message(RowChosen(self, index))
