"""TUI benchmark: first paint of the runs table, opening a 10,000-event run, scrolling.

Run from the repository root::

    .venv/bin/python -m tests.bench.bench_tui [--runs 10000] [--events 1000000] [--store DIR]

The synthetic store is built once (about a minute for 1,000,000 events) and reused while its size
matches. Figures are printed as ``name: value``; the targets of issue 4 are 0.5 s for the first two.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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
    t0 = time.perf_counter()
    info = build_synthetic_store(path, runs=runs, events=events, big_run_events=10_000, reuse=True)
    print(
        f"store: {info.runs} runs, {info.events} events ({time.perf_counter() - t0:.1f} s to build or reuse)"
    )
    return str(info.big_run_id)


async def _until(pilot, condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the TUI did not get there in time")
        await pilot.pause(0.005)


PAINTED: dict[str, float] = {}
"""When each table class first drew a row of data (the compositor calls render_line to paint)."""


def _spy_on_paint() -> None:
    for cls in (RunsTable, TimelineTable):
        original = cls.render_line

        def render_line(self, y: int, _original=original, _name=cls.__name__):  # type: ignore[no-untyped-def]
            strip = _original(self, y)
            if y > 0 and self.row_count and _name not in PAINTED:
                PAINTED[_name] = time.perf_counter()
            return strip

        cls.render_line = render_line  # type: ignore[method-assign]


async def _first_paint(store_path: Path) -> float:
    PAINTED.clear()
    t0 = time.perf_counter()
    app = TeamtapeApp(open_store(store_path), poll_interval=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await _until(pilot, lambda: "RunsTable" in PAINTED)
        await pilot.press("q")
    return PAINTED["RunsTable"] - t0


async def _open_run(store_path: Path, run_id: str, trials: int) -> dict[str, float]:
    out: dict[str, list[float]] = {"first": [], "complete": [], "pagedown": [], "render": []}
    app = TeamtapeApp(open_store(store_path), poll_interval=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await _until(
            pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.query_one(RunsTable).row_count
        )
        for _ in range(trials):
            await pilot.pause(0.3)
            PAINTED.pop("TimelineTable", None)
            t1 = time.perf_counter()
            app.open_run(run_id)
            await _until(pilot, lambda: "TimelineTable" in PAINTED)
            out["first"].append(PAINTED["TimelineTable"] - t1)
            screen = app.screen
            await _until(pilot, lambda s=screen: not s._querying)  # type: ignore[attr-defined, misc]
            out["complete"].append(time.perf_counter() - t1)
            table = app.screen.query_one(TimelineTable)
            lines = table.scrollable_content_region.height
            t2 = time.perf_counter()
            for _ in range(50):  # what a page-down costs: move, scroll, draw every visible line
                table.action_page(1)
                for y in range(lines):
                    table.render_line(y)
            out["pagedown"].append((time.perf_counter() - t2) * 1000 / 50)
            t3 = time.perf_counter()
            for y in range(lines):
                table.render_line(y)
            out["render"].append((time.perf_counter() - t3) * 1000)
            rows = table.row_count
            await pilot.press("escape")
        await pilot.press("q")
    return {
        "open_10k_event_run_first_screen_s": statistics.median(out["first"]),
        "open_10k_event_run_all_events_s": statistics.median(out["complete"]),
        "timeline_rows": rows,
        "pagedown_frame_ms": statistics.median(out["pagedown"]),
        "timeline_full_screen_render_ms": statistics.median(out["render"]),
    }


async def measure(store_path: Path, big_run_id: str, trials: int = 3) -> dict[str, float]:
    paints = [await _first_paint(store_path) for _ in range(trials)]
    figures: dict[str, float] = {"runs_table_first_paint_s": statistics.median(paints)}
    figures.update(await _open_run(store_path, big_run_id, trials))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "teamtape-bench-tui")
    args = parser.parse_args()
    big = _ensure_store(args.store, args.runs, args.events)
    _spy_on_paint()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import teamtape.tui"], check=True, env={**os.environ})
    print(f"import_teamtape_tui_process_s: {time.perf_counter() - t:.3f}")
    for name, value in asyncio.run(measure(args.store, big)).items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
    print("(medians of 3; first paint counts from constructing the app, opening from the key press)")


if __name__ == "__main__":
    main()
