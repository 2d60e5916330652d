"""Item 3: replaying a recorded 200-call run, against AutoGen's bare ReplayChatCompletionClient.

The team, the recording and the three contestants are those of :mod:`tests.bench.bench_replay`;
this worker only runs them interleaved for the suite and writes every sample::

    python -m tests.bench.suite_replay --calls 200 --rounds 7 --out F
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

from autogen_core import EVENT_LOGGER_NAME

from tests.bench import bench_replay
from tests.bench._harness import (
    Goal,
    Section,
    fmt_ratio,
    fmt_time,
    median,
    paired_ratio,
    worker,
    write_figures,
)

RUNNERS = {
    "floor": bench_replay.run_floor,
    "teamtape client": bench_replay.run_client,
    "teamtape serving": bench_replay.run_serving,
}
LABELS = {
    "floor": "AutoGen `ReplayChatCompletionClient` (reference: answers by position, no matching)",
    "teamtape client": "`teamtape.replay.ReplayChatCompletionClient(tape)` (every request matched)",
    "teamtape serving": "`serving(session)`: team's own clients, calls and tools served",
}
GOAL_RATIO = 1.25


async def collect(calls: int, rounds: int) -> dict[str, Any]:
    # AutoGen's replay client warns on every call with tool calls in its context; printing would skew it.
    logging.getLogger(EVENT_LOGGER_NAME).setLevel(logging.CRITICAL)
    wall: dict[str, list[float]] = {name: [] for name in RUNNERS}
    cpu: dict[str, list[float]] = {name: [] for name in RUNNERS}
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-replay-") as tmp:
        tape = await bench_replay.record(calls, Path(tmp))
        tape_bytes = tape.stat().st_size
        for fn in RUNNERS.values():  # warm-up: imports, first-call caches
            await bench_replay.timed(fn, calls, tape)
        for _ in range(rounds):
            for name, fn in RUNNERS.items():
                w, c = await bench_replay.timed(fn, calls, tape)
                wall[name].append(w)
                cpu[name].append(c)
    return {"wall": wall, "cpu": cpu, "tape_bytes": tape_bytes, "calls": calls}


def section(calls: int, rounds: int) -> Section:
    f = worker("tests.bench.suite_replay", "--calls", str(calls), "--rounds", str(rounds))
    cpu, wall = f["cpu"], f["wall"]
    rows = [
        [
            LABELS[name],
            fmt_time(median(cpu[name])),
            fmt_ratio(paired_ratio(cpu[name], cpu["floor"])),
            fmt_time(median(wall[name])),
            fmt_ratio(paired_ratio(wall[name], wall["floor"])),
        ]
        for name in RUNNERS
    ]
    return Section(
        title="3. Replay",
        intro=(
            f"A recorded {calls}-model-call round robin (two agents, one calling a tool every other turn; "
            f"`tests/bench/bench_replay.py`), exported as a tape ({f['tape_bytes'] / 1024:.0f} KiB), then re-run "
            f"offline, building the team and its clients each time; in one process, interleaved, rounds: {rounds}, "
            "after a warm-up. Ratios: median over rounds of contestant ÷ AutoGen's bare replay client."
        ),
        header=["contestant", "CPU (median)", "CPU ratio", "wall (median)", "wall ratio"],
        rows=rows,
        goals=[
            Goal(
                "teamtape replay client vs AutoGen's bare replay client (CPU)",
                paired_ratio(cpu["teamtape client"], cpu["floor"]),
                GOAL_RATIO,
            ),
            Goal(
                "teamtape serving vs AutoGen's bare replay client (CPU)",
                paired_ratio(cpu["teamtape serving"], cpu["floor"]),
                GOAL_RATIO,
            ),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_figures(args.out, asyncio.run(collect(args.calls, args.rounds)))


if __name__ == "__main__":
    main()
