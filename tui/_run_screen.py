"""One run: its timeline on the left (or top), the inspector on the right (or bottom)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from teamtape.store import TeamtapeError

from . import _data
from ._format import fmt_cost, fmt_duration, fmt_started, fmt_tokens, one_line, printable
from ._help import ALWAYS_SHOWN
from ._inspector import Inspector, render_entry
from ._runs_model import live_duration_ms, quiet_note
from ._tables import TimelineTable, status_text
from ._timeline import Entry
from .messages import CursorMoved, DetailLoaded, LoadFailed, RowChosen, TimelineLoaded

if TYPE_CHECKING:
    from .app import TeamtapeApp


FIRST_SLICE = 300
"""Events loaded before the first paint of a run; the rest follow at once."""


class RunScreen(Screen[None]):
    """A run's conversation as a timeline, with an inspector for the selected event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape,backspace", "back", "Back"),
        Binding("enter", "choose", "Expand/inspect"),
        Binding("e", "first_error", "First error"),
        Binding("n", "next_error", "Next error", show=False),
        Binding("c", "costs", "Costs"),
        Binding("d", "compare", "Compare"),
        Binding("y", "copy_id", "Copy id"),
        Binding("p", "replay_command", "Replay cmd"),
        Binding("i", "focus_inspector", "Inspector", show=False),
        Binding("f", "follow", "Follow"),
    ]

    AUTO_FOCUS = "#timeline"

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: _data.RunRow | None = None
        self.last_seq = -1
        self.follow = True
        self._querying = False
        self._poll: Timer | None = None
        self._inspect_timer: Timer | None = None
        self._details: dict[tuple[str, int, str], _data.EventDetail] = {}
        self._expanding: set[tuple[str, int, str]] = set()
        # The events each expanded nested run had when its lines were loaded: a live one is reloaded
        # when it has more (it kept running, or it ended).
        self._expanded_events: dict[tuple[str, int, str], int] = {}

    @property
    def tt(self) -> TeamtapeApp:
        return self.app  # type: ignore[return-value]

    @property
    def timeline(self) -> TimelineTable:
        return self.query_one(TimelineTable)

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="run-summary", classes="title-bar")
        with Container(id="run-body"):
            yield TimelineTable(id="timeline")
            yield Inspector(id="inspector")
        yield Footer()

    def on_mount(self) -> None:
        self._querying = True
        self._load(self.run_id, -1)

    # -- loading ---------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="timeline")
    def _load(self, run_id: str, after_seq: int) -> None:
        """The first screenful comes first (a big run paints at once), then the rest in one go."""
        try:
            limit = FIRST_SLICE if after_seq < 0 else None
            timeline = _data.fetch_timeline(self.tt.store, run_id, after_seq=after_seq, limit=limit)
            if timeline is None:
                self.post_message(LoadFailed("timeline", f"Run {run_id} is not in this store (any more)."))
                return
            painted = threading.Event()
            self.post_message(TimelineLoaded(timeline, append=after_seq >= 0, painted=painted))
            if not timeline.complete:
                # Parsing the rest holds the GIL: let the first screenful reach the terminal first.
                painted.wait(timeout=2.0)
                rest = _data.fetch_timeline(self.tt.store, run_id, after_seq=timeline.last_seq)
                if rest is not None:
                    self.post_message(TimelineLoaded(rest, append=True))
        except TeamtapeError as e:
            self.post_message(LoadFailed("timeline", str(e)))

    @work(thread=True, group="nested")
    def _load_child(self, entry: Entry, refresh: bool = False) -> None:
        try:
            timeline = _data.fetch_timeline(self.tt.store, entry.child_run_id or "", depth=entry.depth + 1)
        except TeamtapeError as e:
            self.post_message(LoadFailed("nested run", str(e)))
            return
        if timeline is None:
            self.post_message(
                LoadFailed("nested run", f"The nested run {entry.child_run_id} was not recorded.")
            )
            return
        _data.place_children(timeline.entries, timeline.children, entry.depth + 1)
        self.post_message(TimelineLoaded(timeline, append=False, parent_key=entry.key, refresh=refresh))

    @work(thread=True, exclusive=True, group="detail")
    def _load_detail(self, entry: Entry) -> None:
        try:
            detail = _data.fetch_detail(self.tt.store, entry.run_id, entry.seq)
        except TeamtapeError as e:
            self.post_message(LoadFailed("event", str(e)))
            return
        if detail is not None:
            self.post_message(DetailLoaded(entry.key, detail))

    @on(TimelineLoaded)
    def _loaded(self, message: TimelineLoaded) -> None:
        tl = message.timeline
        table = self.timeline
        if message.parent_key is not None:
            self._expanded_events[message.parent_key] = tl.run.events
            self._insert_child(message.parent_key, tl.entries, replace=message.refresh)
            return
        self._querying = not tl.complete
        self.run = tl.run
        self.last_seq = max(self.last_seq, tl.last_seq)
        if message.append:
            if tl.entries:
                at_end = table.cursor >= len(table.entries) - 1
                table.set_entries(
                    table.entries + tl.entries,
                    table.start_ts,
                    cursor=len(table.entries) + len(tl.entries) - 1 if at_end and self.follow else None,
                )
        else:
            start = (
                tl.run.started if tl.run.started is not None else (tl.entries[0].ts if tl.entries else 0.0)
            )
            table.set_entries(tl.entries, start, cursor=0)
            table.focus()
        if tl.complete:
            selected = table.entries[table.cursor].key if 0 <= table.cursor < len(table.entries) else None
            refreshed = message.append and (
                _data.drop_answered_calls(table.entries)
                | _data.refresh_placeholders(table.entries, tl.children, 0)
            )
            if _data.place_children(table.entries, tl.children, 0) or refreshed:
                keys = [e.key for e in table.entries]
                cursor = keys.index(selected) if selected in keys else min(table.cursor, len(keys) - 1)
                table.set_entries(table.entries, table.start_ts, cursor=cursor)
            if message.append:
                self._refresh_expanded(tl.children)
        self._show_summary()
        if message.painted is not None:
            self.call_after_refresh(message.painted.set)
        if tl.run.status == "running" and self._poll is None:
            self._poll = self.set_interval(self.tt.poll_interval, self._refresh_live)
        elif tl.run.status != "running" and self._poll is not None:
            self._poll.stop()
            self._poll = None

    def _refresh_live(self) -> None:
        if not self._querying:
            self._querying = True
            self._load(self.run_id, self.last_seq)
        self._show_summary()

    def _insert_child(self, key: tuple[str, int, str], entries: list[Entry], replace: bool = False) -> None:
        """Show a nested run's lines under its line (``replace``: instead of the ones shown)."""
        self._expanding.discard(key)
        table = self.timeline
        index = next((i for i, e in enumerate(table.entries) if e.key == key), None)
        if index is None or table.entries[index].expanded != replace:
            return
        parent = table.entries[index]
        end = index + 1
        while replace and end < len(table.entries) and table.entries[end].depth > parent.depth:
            end += 1
        selected = table.entries[table.cursor].key if 0 <= table.cursor < len(table.entries) else None
        parent.expanded = True
        new = table.entries[: index + 1] + entries + table.entries[end:]
        keys = [e.key for e in new]
        cursor = keys.index(selected) if selected in keys else min(table.cursor, len(new) - 1)
        table.set_entries(new, table.start_ts, cursor=cursor)

    def _refresh_expanded(self, children: list[_data.RunRow]) -> None:
        """Reload the lines of each expanded nested run (of this run) that has grown since they were
        loaded: a live nested run goes on, and ends, under its line."""
        events = {c.run_id: c.events for c in children}
        for entry in self.timeline.entries:
            key, shown = entry.key, self._expanded_events.get(entry.key)
            grown = shown is not None and events.get(entry.child_run_id or "", shown) != shown
            if entry.depth == 0 and entry.expanded and grown and key not in self._expanding:
                self._expanding.add(key)
                self._load_child(entry, refresh=True)

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        self._querying = False
        self.notify(message.error, title=f"Could not load the {message.what}", severity="error", timeout=8)

    # -- summary and inspector -------------------------------------------------------------------------
    def _show_summary(self) -> None:
        run = self.run
        if run is None:
            return
        status = Text(
            status_text(run),
            style=f"bold {_STATUS_COLOUR.get(run.status, '')}",
        )
        first = Text.assemble(
            (printable(run.title), "bold"),
            "  ",
            status,
            "  ",
            one_line(run.error or run.stop_reason or "", 200),
            (
                quiet_note(self.timeline.entries, time.time()) if run.status == "running" else "",
                "bold yellow",
            ),
        )
        facts = [
            f"run {run.run_id}",
            fmt_started(run.started),
            fmt_duration(live_duration_ms(run)),
            f"{run.messages} msgs",
            f"{run.llm_calls} LLM calls",
            f"{fmt_tokens(run.tokens)} tokens",
            fmt_cost(run.cost_usd, unpriced=run.unpriced_calls),
        ]
        if run.parent_run_id:
            facts.append(f"nested in {run.parent_run_id[:8]}")
        if run.replay_of:
            facts.append(f"replay of {run.replay_of[:8]}")
        second = Text(" · ".join(f for f in facts if f), style="dim")
        entries = self.timeline.entries
        if entries and entries[0].kind == "run_started" and entries[0].payload.get("direct_model_call"):
            # A script's own model call: no team to run again; its tape serves the answer to a test.
            third = Text(f"tape: {self.tt.tape_command(run.run_id)}", style="dim")
        else:
            replay = (
                "once the run has ended" if run.status == "running" else self.tt.replay_command(run.run_id)
            )
            third = Text(f"replay: {replay}", style="dim")
        self.query_one("#run-summary", Static).update(Text("\n").join([first, second, third]))

    @on(CursorMoved)
    def _cursor_moved(self, message: CursorMoved) -> None:
        if message.table is not self.timeline:
            return
        if self._inspect_timer is not None:
            self._inspect_timer.stop()
        self._inspect_timer = self.set_timer(0.05, self._inspect)

    def _inspect(self) -> None:
        entry = self.timeline.current
        inspector = self.query_one(Inspector)
        if entry is None:
            return
        detail = self._details.get(entry.key)
        inspector.show(render_entry(entry, self.timeline.start_ts, detail))
        if detail is None and entry.partial and entry.kind != "nested_run":
            self._load_detail(entry)

    @on(DetailLoaded)
    def _detail_loaded(self, message: DetailLoaded) -> None:
        if len(self._details) > 256:
            self._details.clear()
        self._details[message.key] = message.detail
        entry = self.timeline.current
        if entry is not None and entry.key == message.key:
            self.query_one(Inspector).show(render_entry(entry, self.timeline.start_ts, message.detail))

    # -- actions ---------------------------------------------------------------------------------------
    @on(RowChosen)
    def _chosen(self, message: RowChosen) -> None:
        self.action_choose()

    def action_choose(self) -> None:
        entry = self.timeline.current
        if entry is None:
            return
        if entry.child_run_id:
            self._toggle(entry)
        else:
            inspector = self.query_one(Inspector)
            self.maximize(inspector, container=False)
            inspector.focus()

    def minimize(self) -> None:
        """Put the inspector back beside the timeline, and the keys back on the timeline."""
        super().minimize()
        self.timeline.focus()

    def _toggle(self, entry: Entry) -> None:
        table = self.timeline
        if entry.expanded:
            index = table.cursor
            end = index + 1
            while end < len(table.entries) and table.entries[end].depth > entry.depth:
                end += 1
            entry.expanded = False
            self._expanded_events.pop(entry.key, None)
            table.set_entries(table.entries[: index + 1] + table.entries[end:], table.start_ts, cursor=index)
        elif entry.key not in self._expanding:
            self._expanding.add(entry.key)
            self._load_child(entry)

    def _jump_to_error(self, start: int) -> None:
        entries = self.timeline.entries
        for i in list(range(start, len(entries))) + list(range(0, start)):
            if entries[i].is_error:
                self.timeline.cursor = i
                self.timeline.focus()
                return
        self.notify("This run has no errors.", timeout=3)

    def action_first_error(self) -> None:
        self._jump_to_error(0)

    def action_next_error(self) -> None:
        self._jump_to_error(self.timeline.cursor + 1)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_costs(self) -> None:
        if self.run:
            self.tt.show_costs(self.run)

    def action_compare(self) -> None:
        self.tt.compare_with_related(self.run_id)

    def action_copy_id(self) -> None:
        self.tt.copy_run_id(self.run_id)

    def action_replay_command(self) -> None:
        if self.run:
            self.tt.show_replay_command(self.run)

    def action_focus_inspector(self) -> None:
        self.query_one(Inspector).focus()

    def action_follow(self) -> None:
        """Keep the cursor on the newest event as events arrive (again: stop). Following is on from the
        start but only takes hold on the newest event, so the first press takes the cursor there."""
        newest = len(self.timeline.entries) - 1
        self.follow = not self.follow or self.timeline.cursor < newest
        if self.follow:
            self.timeline.cursor = newest
        self.notify("Following new events." if self.follow else "Stopped following.", timeout=2)


_STATUS_COLOUR = {
    "running": "yellow",
    "ok": "green",
    "error": "red",
    "cancelled": "grey50",
    "crashed": "magenta",
}
