"""The teamtape Textual app and its entry point :func:`run_tui`."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from teamtape.store import Store, TeamtapeError, open_store
from teamtape.store.paths import resolve_store_path

from . import _data
from ._compare_screen import CompareScreen
from ._costs import CostScreen
from ._format import short_id
from ._help import HelpScreen
from ._run_screen import RunScreen
from ._runs_screen import RunsScreen

DEFAULT_POLL_INTERVAL = 1.5


class TeamtapeApp(App[int]):
    """Browse the runs of a store: runs table, run timeline, inspector, costs and comparisons.

    Example:
        >>> from teamtape.store import open_store
        >>> app = TeamtapeApp(open_store("/tmp/doc-tui-store", create=True))
        >>> app.title
        'teamtape'
    """

    CSS_PATH = "app.tcss"
    TITLE = "teamtape"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, store: Store, *, poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        super().__init__()
        self.store = store
        self.poll_interval = poll_interval
        self.marked: str | None = None
        """The run marked for comparison on the runs screen (``m``)."""

    def on_mount(self) -> None:
        self.push_screen(RunsScreen())

    # -- navigation used by the screens -----------------------------------------------------------------
    def open_run(self, run_id: str) -> None:
        self.push_screen(RunScreen(run_id))

    def show_costs(self, run: _data.RunRow) -> None:
        self.push_screen(CostScreen(run))

    def compare_runs(self, left: str, right: str) -> None:
        self.push_screen(CompareScreen(left, right))

    def compare_with_related(self, run_id: str) -> None:
        """Compare a run with the run it replays, or with its latest replay, or with the marked run."""
        self._find_related(run_id, self.marked)

    @work(thread=True, exclusive=True, group="related")
    def _find_related(self, run_id: str, marked: str | None) -> None:
        try:
            rows = self.store.query(
                """SELECT 0 AS rank, replay_of AS other FROM runs WHERE run_id = ? AND replay_of IS NOT NULL
                   UNION ALL
                   SELECT 1, run_id FROM (SELECT run_id FROM runs WHERE replay_of = ? ORDER BY started_at DESC LIMIT 1)
                   ORDER BY rank""",
                [run_id, run_id],
            )
        except TeamtapeError as e:
            self.call_from_thread(self.notify, str(e), severity="error")
            return
        other = rows[0]["other"] if rows else (marked if marked != run_id else None)
        if other is None:
            self.call_from_thread(
                self.notify,
                "This run has no replay to compare with. Mark another run with m on the runs screen, then press d.",
                severity="warning",
            )
            return
        left, right = (other, run_id) if rows and rows[0]["rank"] == 0 else (run_id, other)
        self.call_from_thread(self.compare_runs, left, right)

    def replay_command(self, run_id: str) -> str:
        """The shell command that replays ``run_id`` from this store."""
        return f"teamtape replay{self._store_flag()} {run_id}"

    def tape_command(self, run_id: str) -> str:
        """The shell command that writes ``run_id``'s tape (for a test's ReplayChatCompletionClient)."""
        return f"teamtape export tape{self._store_flag()} {run_id} {run_id}.tape.json"

    def _store_flag(self) -> str:
        """`` --store DIR`` where this store is not the default one."""
        if self.store.root == resolve_store_path(None):
            return ""
        return f" --store {shlex.quote(str(self.store.root))}"

    def copy_run_id(self, run_id: str) -> None:
        self.copy_to_clipboard(run_id)
        self.notify(f"Copied run id {run_id}", timeout=3)

    def show_replay_command(self, run: _data.RunRow) -> None:
        if run.status == "running":  # a replay needs the whole recording
            self.notify(
                "It can be replayed once it has ended.",
                title=f"Run {short_id(run.run_id)} is still running",
                severity="warning",
                timeout=5,
            )
            return
        run_id = run.run_id
        command = self.replay_command(run_id)
        self.copy_to_clipboard(command)
        self.notify(
            f"{command}\n(copied to the clipboard)", title=f"Replay run {short_id(run_id)}", timeout=8
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def check_store(store: Store) -> None:
    """Raise a :class:`TeamtapeError` saying what is wrong if the store cannot be read."""
    _data.fetch_fingerprint(store)


def run_tui(
    store_path: str | os.PathLike[str] | None = None, *, poll_interval: float = DEFAULT_POLL_INTERVAL
) -> int:
    """Open the terminal UI on a store and return its exit code.

    Args:
        store_path: the store directory (default: ``$TEAMTAPE_STORE`` or ``./.teamtape``).
        poll_interval: seconds between checks for new runs and events.

    Raises:
        StoreNotFoundError: no store at ``store_path``.
        StoreError: the store exists but cannot be read (e.g. a corrupt database file).

    Example:
        >>> run_tui("/no/such/store")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        teamtape.store.errors.StoreNotFoundError: No teamtape store at /no/such/store. ...
    """
    store = open_store(Path(store_path) if store_path else None)
    check_store(store)
    app = TeamtapeApp(store, poll_interval=poll_interval)
    code = app.run()
    return int(code or app.return_code or 0)
