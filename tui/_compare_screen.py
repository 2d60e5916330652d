"""Two runs side by side (e.g. a run and its replay): where they diverge and how."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Static

from teamtape.store import TeamtapeError

from . import _data
from ._compare import compare
from ._format import printable, short_id
from ._inspector import render_entry
from ._tables import CompareTable
from .messages import ComparisonLoaded, CursorMoved, LoadFailed

if TYPE_CHECKING:
    from .app import TeamtapeApp


class CompareScreen(Screen[None]):
    """Run A against run B, step by step; the cursor starts at the first divergence."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        Binding("n", "next_change", "Next change"),
        Binding("N", "previous_change", "Previous change"),
    ]

    def __init__(self, left: str, right: str) -> None:
        super().__init__()
        self.left_id, self.right_id = left, right
        self.starts = (0.0, 0.0)

    @property
    def tt(self) -> TeamtapeApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            f"Comparing {short_id(self.left_id)} with {short_id(self.right_id)}…",
            id="compare-title",
            classes="title-bar",
        )
        yield CompareTable(id="diff")
        with Container(id="compare-detail"):
            yield Static("", id="detail-left", classes="detail-side")
            yield Static("", id="detail-right", classes="detail-side")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="compare")
    def _load(self) -> None:
        try:
            a = _data.fetch_timeline(self.tt.store, self.left_id, lean=False)  # compared by responses too
            b = _data.fetch_timeline(self.tt.store, self.right_id, lean=False)
        except TeamtapeError as e:
            self.post_message(LoadFailed("comparison", str(e)))
            return
        missing = [rid for rid, tl in ((self.left_id, a), (self.right_id, b)) if tl is None]
        if missing or a is None or b is None:
            self.post_message(LoadFailed("comparison", f"Run {missing[0]} is not in this store."))
            return
        self.post_message(ComparisonLoaded(a.run, b.run, compare(a.entries, b.entries)))

    @on(ComparisonLoaded)
    def _show(self, message: ComparisonLoaded) -> None:
        c = message.comparison
        a, b = message.left, message.right
        self.starts = (a.started or 0.0, b.started or 0.0)
        labels = (
            f"A {short_id(a.run_id)} {a.title} ({a.status})",
            f"B {short_id(b.run_id)} {b.title} ({b.status})",
        )
        table = self.query_one(CompareTable)
        table.set_comparison(c, labels)
        table.focus()
        if c.identical:
            verdict = Text("The runs did the same things, step for step.", style="bold green")
        else:
            row = c.rows[c.divergence or 0]
            step = row.left or row.right
            where = printable(f"{step.agent or '·'} {step.kind}") if step else "?"
            verdict = Text.assemble(
                ("Diverged at step ", "bold"),
                (str((c.divergence or 0) + 1), "bold yellow"),
                f" ({where}) · {c.changes} differing step(s) of {len(c.rows)}",
            )
        self.query_one("#compare-title", Static).update(
            Text.assemble(("Compare ", "bold"), f"A {a.run_id} with B {b.run_id}\n", verdict)
        )

    @on(CursorMoved)
    def _moved(self, message: CursorMoved) -> None:
        table = self.query_one(CompareTable)
        if not table.comparison.rows:
            return
        row = table.comparison.rows[table.cursor]
        for side, entry, start in (("left", row.left, self.starts[0]), ("right", row.right, self.starts[1])):
            self.query_one(f"#detail-{side}", Static).update(render_entry(entry, start) if entry else "")

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title="Could not compare", severity="error", timeout=8)

    def _jump(self, step: int) -> None:
        table = self.query_one(CompareTable)
        rows = table.comparison.rows
        i = table.cursor + step
        while 0 <= i < len(rows):
            if rows[i].tag != "=" and (rows[i - step].tag == "=" if 0 <= i - step < len(rows) else True):
                table.cursor = i
                return
            i += step
        self.notify("No more differences.", timeout=2)

    def action_next_change(self) -> None:
        self._jump(1)

    def action_previous_change(self) -> None:
        self._jump(-1)

    def action_back(self) -> None:
        self.app.pop_screen()
