"""The first screen: every run in the store, live."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from teamtape.store import StoreNotFoundError, TeamtapeError

from . import _data
from ._filter import FAILURES, FilterError, RunFilter
from ._format import counted, printable, short_id
from ._help import ALWAYS_SHOWN
from ._runs_model import SORT_KEYS, RunLine, arrange
from ._tables import RunsTable
from .messages import HeaderClicked, LoadFailed, RowChosen, RunsLoaded

if TYPE_CHECKING:
    from .app import TeamtapeApp

EMPTY_STATE = """[b]No runs recorded yet.[/b]

Record a few realistic multi-agent runs, with no API key and no network:

    [b]teamtape demo[/b]

or record your own team:  [b]teamtape run your_team.py[/b]

This screen updates by itself as soon as a run starts recording."""


class RunsScreen(Screen[None]):
    """A table of runs: sortable, filterable, sessions grouped, nested runs under their parent."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("enter", "open", "Open"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("e", "errors", "Errors"),
        Binding("m", "mark", "Mark"),
        Binding("d", "compare", "Compare"),
        Binding("y", "copy_id", "Copy id"),
        Binding("p", "replay_command", "Replay cmd"),
        Binding("r", "reload", "Reload", show=False),
    ]

    AUTO_FOCUS = "#runs"

    def __init__(self) -> None:
        super().__init__()
        self.filter = RunFilter()
        self.fingerprint: tuple[int, int] | None = None
        self.total = 0
        self._querying = False
        self._reload_wanted = False  # the filter or sort changed while a query was in flight
        self._said_error: str | None = None  # the store failure last shown (not repeated every poll)

    @property
    def tt(self) -> TeamtapeApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-title", classes="title-bar")
        yield Input(
            placeholder="filter: status:error team:swarm agent:planner model:gpt-4o words…", id="filter"
        )
        yield Static("", id="filter-error")
        with Vertical(id="runs-body"):
            yield RunsTable(id="runs")
            yield Static(EMPTY_STATE, id="empty")
        yield Footer()

    def on_mount(self) -> None:
        self._set_title("loading…")
        self.query_one("#filter", Input).can_focus = False  # only "/" puts the cursor in the filter box
        self.table.focus()
        self.load()
        self.set_interval(self.tt.poll_interval, self.poll)

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    # -- loading ---------------------------------------------------------------------------------------
    def load(self, force: bool = True) -> None:
        if self._querying:
            # A poll may be reading with the old filter: run this one as soon as it is back.
            self._reload_wanted = self._reload_wanted or force
            return
        self._querying = True
        column, reverse = self.table.sort_column or "started", self.table.sort_reverse
        # The first load of a big store paints the newest runs before reading all of them.
        first_page = not self.table.lines and column == "started" and reverse
        self._load(self.filter, column, reverse, None if force else self.fingerprint, first_page)

    def poll(self) -> None:
        if not self.is_current:  # a run or another screen is on top: catch up when it is shown again
            return
        if any(isinstance(line, RunLine) and line.run.status == "running" for line in self.table.lines):
            self.table.refresh()  # running durations tick
        self.load(force=False)

    def on_screen_resume(self) -> None:
        if self.fingerprint is not None:
            self.poll()

    def _unchanged(self) -> None:
        self._query_done()

    def _query_done(self) -> None:
        self._querying = False
        if self._reload_wanted:
            self._reload_wanted = False
            self.load()

    @work(thread=True, exclusive=True, group="runs")
    def _load(
        self, flt: RunFilter, column: str, reverse: bool, known: tuple[int, int] | None, first_page: bool
    ) -> None:
        try:
            if known is not None and _data.fetch_fingerprint(self.tt.store) == known:
                self.app.call_from_thread(self._unchanged)
                return

            def show_first_page(page: _data.RunsResult) -> None:
                painted = threading.Event()
                lines = arrange(page.rows, column, reverse)
                self.post_message(
                    RunsLoaded(
                        lines, len(page.rows), page.total, page.fingerprint, partial=True, painted=painted
                    )
                )
                painted.wait(timeout=1.0)  # reading the rest holds the GIL: let this page paint first

            result = _data.fetch_runs(self.tt.store, flt, first_page=show_first_page if first_page else None)
            lines = arrange(result.rows, column, reverse)
            self.post_message(RunsLoaded(lines, len(result.rows), result.total, result.fingerprint))
        except StoreNotFoundError:  # deleted while open: a recording that starts makes it again
            self.post_message(
                LoadFailed(
                    "runs",
                    f"The store at {self.tt.store.root} is gone; its runs come back here when "
                    "a recording creates it again.",
                )
            )
        except TeamtapeError as e:
            self.post_message(LoadFailed("runs", str(e)))

    @on(RunsLoaded)
    def _show_runs(self, message: RunsLoaded) -> None:
        self._said_error = None  # readable again: a new failure is news
        if not message.partial:
            self._query_done()
            if self._querying:  # a newer query is already on its way: this answer is stale
                return
        self.fingerprint, self.total = message.fingerprint, message.total
        current = self.table.current
        self.table.set_lines(message.lines, keep=current.key if current else None)
        empty = message.total == 0
        self.query_one("#empty").display = empty
        self.table.display = not empty
        runs = counted(message.total, "run")
        shown = f"{message.matched:,} of {runs}" if self.filter else runs
        if message.partial:
            shown += " · loading…"
        if message.painted is not None:
            self.call_after_refresh(message.painted.set)
        self._set_title(shown + (f" · filter: {self._filter_text()}" if self.filter else ""))

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        self.fingerprint = None  # reload everything once the store is readable again
        self._set_title("store unreadable")
        if message.error != self._said_error:  # each poll fails the same way: say it once
            self._said_error = message.error
            self.notify(message.error, title="Could not read the store", severity="error", timeout=8)
        self._query_done()

    def _set_title(self, text: str) -> None:
        title = Text.assemble(
            ("teamtape", "bold"), f" · {printable(str(self.tt.store.root))} · {printable(text)}"
        )
        self.query_one("#runs-title", Static).update(title)

    def _filter_text(self) -> str:
        return self.query_one("#filter", Input).value.strip()

    # -- actions ---------------------------------------------------------------------------------------
    def _current_run(self, to: str | None = None) -> RunLine | None:
        """The run under the cursor; on a session line, None, and (given what the key was ``to`` do)
        a note that says which line to use instead."""
        line = self.table.current
        if isinstance(line, RunLine):
            return line
        if to is not None and line is not None:
            self.notify(f"This line heads a session: move to one of its runs to {to}.", timeout=3)
        return None

    @on(RowChosen)
    def _chosen(self, message: RowChosen) -> None:
        self.action_open()

    def action_open(self) -> None:
        line = self._current_run()
        if line:
            self.tt.open_run(line.run.run_id)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.can_focus = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        try:
            self.filter = RunFilter.parse(event.value)
        except FilterError as e:
            self.query_one("#filter-error", Static).update(Text(printable(str(e)), style="bold"))
            self.query_one("#filter-error").display = True
            return
        self.query_one("#filter-error").display = False
        if not event.value.strip():
            event.input.display = False
        event.input.can_focus = False
        self.call_after_refresh(self.table.focus)
        self.load()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        box.can_focus = False
        self.query_one("#filter-error").display = False
        self.call_after_refresh(self.table.focus)
        if self.filter:
            self.filter = RunFilter()
            self.load()

    def action_errors(self) -> None:
        box = self.query_one("#filter", Input)
        errors = ("error", "crashed", FAILURES)  # and ok runs whose tools or model calls failed on the way
        box.value = "" if self.filter.status == errors else f"status:{','.join(errors)}"
        box.display = bool(box.value)
        self.filter = RunFilter.parse(box.value)
        self.table.focus()
        self.load()

    def action_sort(self) -> None:
        keys = list(SORT_KEYS)
        shown = self.table.shown_columns  # a narrow terminal hides some: sorting by those would show nothing
        keys = [k for k in keys if k in shown] or keys
        current = self.table.sort_column or "started"
        following = keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0]
        self._sort_by(following)

    def action_reverse(self) -> None:
        self._sort_by(self.table.sort_column or "started", toggle=True)

    @on(HeaderClicked)
    def _header(self, message: HeaderClicked) -> None:
        self._sort_by(message.column, toggle=message.column == self.table.sort_column)

    def _sort_by(self, column: str, toggle: bool = False) -> None:
        if column not in SORT_KEYS:
            return
        table = self.table
        if toggle:
            table.sort_reverse = not table.sort_reverse
        elif column != table.sort_column:
            table.sort_reverse = column not in ("run", "status", "stop")
        table.sort_column = column
        rows = [line.run for line in table.lines if isinstance(line, RunLine)]
        current = table.current
        table.set_lines(arrange(rows, column, table.sort_reverse), keep=current.key if current else None)

    def action_mark(self) -> None:
        line = self._current_run(to="mark it")
        if not line:
            return
        table = self.table
        table.marked = None if table.marked == line.run.run_id else line.run.run_id
        self.tt.marked = table.marked
        table.refresh()
        if table.marked:
            self.notify(f"Marked run {short_id(table.marked)}: move to another run and press d to compare.")

    def action_compare(self) -> None:
        line = self._current_run(to="compare it")
        if not line:
            return
        other = self.table.marked or line.run.replay_of
        if not other or other == line.run.run_id:
            self.notify(
                "Mark a run with m first, then press d on the run to compare it with.", severity="warning"
            )
            return
        self.tt.compare_runs(other, line.run.run_id)

    def action_copy_id(self) -> None:
        line = self._current_run(to="copy its id")
        if line:
            self.tt.copy_run_id(line.run.run_id)

    def action_replay_command(self) -> None:
        line = self._current_run(to="get its replay command")
        if line:
            self.tt.show_replay_command(line.run)

    def action_reload(self) -> None:
        self.load()
