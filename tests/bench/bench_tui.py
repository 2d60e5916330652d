"""TUI benchmark: first paint of the runs table, opening a 10,000-event run, scrolling.

Run from the repository root::

    .venv/bin/python -m tests.bench.bench_tui [--runs 10000] [--events 1000000] [--store DIR]

The synthetic store is built once (about a minute for 1,000,000 events) and reused while its size
matches. Figures are printed as ``name: value``; the targets of issue 4 are 0.5 s for the first two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from teamtape.store import open_store
from teamtape.tui import TeamtapeApp
from teamtape.tui._runs_screen import RunsScreen
from teamtape.tui._tables import RunsTable, TimelineTable
from tests.support.synthetic import build_synthetic_store


def _ensure_store(path: Path, runs: int, events: int) -> str:
    marker = path / "synthetic.json"
    wanted = {"runs": runs, "events": events, "big": 10_000}
    if marker.exists() and json.loads(marker.read_text()).get("wanted") == wanted:
        return str(json.loads(marker.read_text())["big_run_id"])
    t0 = time.perf_counter()
    info = build_synthetic_store(path, runs=runs, events=events, big_run_events=10_000)
    print(f"built store: {info.runs} runs, {info.events} events in {time.perf_counter() - t0:.1f} s")
    marker.write_text(json.dumps({"wanted": wanted, "big_run_id": info.big_run_id}))
    return str(info.big_run_id)


async def _until(pilot, condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the TUI did not get there in time")
        await pilot.pause(0.005)


async def measure(store_path: Path, big_run_id: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    t0 = time.perf_counter()
    app = TeamtapeApp(open_store(store_path), poll_interval=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.query_one(RunsTable).row_count)
        await pilot.pause()  # one paint
        figures["runs_table_first_paint_s"] = time.perf_counter() - t0
        figures["runs_table_rows"] = app.screen.query_one(RunsTable).row_count

        t1 = time.perf_counter()
        app.open_run(big_run_id)
        await _until(pilot, lambda: bool(app.screen.query(TimelineTable))
                     and app.screen.query_one(TimelineTable).row_count > 0)
        await pilot.pause()
        figures["open_10k_event_run_s"] = time.perf_counter() - t1
        table = app.screen.query_one(TimelineTable)
        figures["timeline_rows"] = table.row_count

        t2 = time.perf_counter()
        presses = 100
        for _ in range(presses):
            await pilot.press("pagedown")
        await pilot.pause()
        figures["pagedown_ms_per_press"] = (time.perf_counter() - t2) * 1000 / presses

        lines = table.scrollable_content_region.height
        t3 = time.perf_counter()
        for y in range(lines):
            table.render_line(y)
        figures["timeline_full_screen_render_ms"] = (time.perf_counter() - t3) * 1000
        await pilot.press("q")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "teamtape-bench-tui")
    args = parser.parse_args()
    big = _ensure_store(args.store, args.runs, args.events)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import teamtape.tui"], check=True, env={**os.environ})
    print(f"import_teamtape_tui_process_s: {time.perf_counter() - t:.3f}")
    for name, value in asyncio.run(measure(args.store, big)).items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
