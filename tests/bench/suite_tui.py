"""Item 4: TUI first paint on a 10,000-run / 1,000,000-event store, against a bare Textual DataTable.

teamtape's figures come from :mod:`tests.bench.bench_tui` (real paints of the real app, counted from
constructing the app, and from the key press that opens a run). The reference is what a user might
write instead: a Textual app with one ``DataTable`` filled by a plain DuckDB query of the same store
(all runs; then, on demand, the 10,000 events of the big run), timed the same way::

    python -m tests.bench.suite_tui --store DIR --big RUN_ID --trials 3 --out F
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tests.bench import bench_tui
from tests.bench._harness import Goal, Section, fmt_ratio, fmt_time, worker, write_figures

GOAL_S = 0.5
RUNS_SQL = (
    "SELECT run_id, started_at, name, team_type, status, messages, llm_calls, cost_usd, duration_ms "
    "FROM runs ORDER BY started_at DESC"
)
RUN_SQL = "SELECT seq, ts, kind, agent FROM events WHERE run_id = ? AND kind <> 'blob' ORDER BY seq"
BARE_PAINTED: dict[str, float] = {}


class BareTable(DataTable[Any]):
    """A DataTable that notes when it first draws a row of data."""

    def render_line(self, y: int) -> Any:
        strip = super().render_line(y)
        if y > 0 and self.row_count and "table" not in BARE_PAINTED:
            BARE_PAINTED["table"] = time.perf_counter()
        return strip


class BareApp(App[None]):
    """The reference: a DataTable filled synchronously from DuckDB."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        yield BareTable()

    def on_mount(self) -> None:
        self.fill(RUNS_SQL, [])

    def fill(self, sql: str, params: list[Any]) -> None:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            cur = con.execute(sql, params)
            columns = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        finally:
            con.close()
        table = self.query_one(BareTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        table.add_rows(rows)


async def _bare(db: Path, run_id: str, trials: int) -> dict[str, float]:
    paints, opens = [], []
    for _ in range(trials):
        BARE_PAINTED.clear()
        t0 = time.perf_counter()
        app = BareApp(db)
        async with app.run_test(size=(160, 48)) as pilot:
            await bench_tui._until(pilot, lambda: "table" in BARE_PAINTED)
            paints.append(BARE_PAINTED["table"] - t0)
            await pilot.pause(0.3)
            BARE_PAINTED.clear()
            t1 = time.perf_counter()
            app.fill(RUN_SQL, [run_id])
            await bench_tui._until(pilot, lambda: "table" in BARE_PAINTED)
            opens.append(BARE_PAINTED["table"] - t1)
            await pilot.press("q")
    return {
        "bare_runs_first_paint_s": statistics.median(paints),
        "bare_open_run_first_paint_s": statistics.median(opens),
    }


async def collect(store: Path, big_run_id: str, trials: int) -> dict[str, Any]:
    from teamtape.store import open_store

    bench_tui._spy_on_paint()
    figures: dict[str, Any] = dict(await bench_tui.measure(store, big_run_id, trials))
    figures.update(await _bare(open_store(store).layout.db, big_run_id, trials))
    return figures


def section(store: Path, big_run_id: str, trials: int, runs: int, events: int) -> Section:
    f = worker("tests.bench.suite_tui", "--store", str(store), "--big", big_run_id, "--trials", str(trials))
    runs_paint, bare_runs = f["runs_table_first_paint_s"], f["bare_runs_first_paint_s"]
    open_first, bare_open = f["open_10k_event_run_first_screen_s"], f["bare_open_run_first_paint_s"]
    big = f"{f['timeline_rows']:,}-event run"
    return Section(
        title="4. TUI: time to first paint",
        intro=(
            f"A synthetic store of {runs:,} runs / {events:,} events (`tests/support/synthetic.py`, built by the "
            f"suite), the newest run holding {f['timeline_rows']:,} timeline rows. The real `teamtape tui` app in "
            "Textual's headless pilot at 160×48; a paint is the first data row drawn by the compositor. Runs "
            "table: from constructing the app; a run: from the key press that opens it. Median of "
            f"{trials}. Reference: a bare Textual `DataTable` filled by a plain DuckDB query of the same store "
            "(all runs; then the run's events), timed the same way."
        ),
        header=["figure", "teamtape (median)", "bare DataTable + DuckDB", "ratio"],
        rows=[
            [
                "runs table, first paint",
                fmt_time(runs_paint),
                fmt_time(bare_runs),
                fmt_ratio(runs_paint / bare_runs),
            ],
            [
                f"{big}, first screen",
                fmt_time(open_first),
                fmt_time(bare_open),
                fmt_ratio(open_first / bare_open),
            ],
            [f"{big}, every event loaded", fmt_time(f["open_10k_event_run_all_events_s"]), "", ""],
            ["page-down frame in that run", f"{f['pagedown_frame_ms']:.1f} ms", "", ""],
        ],
        notes=["Ratios here are of medians: the two apps run one after the other in one process."],
        goals=[
            Goal(f"TUI runs table ({runs:,} runs): first paint", runs_paint, GOAL_S, unit=" s"),
            Goal(f"{big}: first screen", open_first, GOAL_S, unit=" s"),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--big", required=True, help="id of the big run")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_figures(args.out, asyncio.run(collect(args.store, args.big, args.trials)))


if __name__ == "__main__":
    main()
