"""Where the recorder's overhead goes: the zero-latency team timed with parts of the recorder switched off.

    .venv/bin/python -m tests.bench.breakdown [--rounds 5] [--messages 900]

Each step adds one part of the recorder to the one before, and runs in its own fresh process like
:mod:`tests.bench.overhead` (interleaved over rounds, hash seed fixed by the harness):

- ``bare``: no recording;
- ``wrappers``: teamtape's wrappers around autogen, recording nothing (no payloads, events or state);
- ``payloads``: and building every event's payload (request deltas and their blobs, messages, tool
  calls, turns, selections); the events are dropped before they are encoded;
- ``state``: and the ``save_state()`` snapshot at the run's end;
- ``events``: and encoding, redacting and writing every event, i.e. ``teamtape.record()`` as shipped.

It prints each step's median CPU time, what the step added, and the full collections of Python's
garbage collector during the run (a recorder that makes the oldest generation grow sets off extra
full collections, each tens of milliseconds in a long run: see docs/benchmarks.md). The figures are
for finding what to work on; BENCHMARKS.md's section 1 is the one the goal is judged by.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench._harness import fmt_time, median, worker, write_figures
from tests.bench.overhead import TASK, WARM_UP_MESSAGES, _timed_run

STEPS = ("bare", "wrappers", "payloads", "state", "events")


def _switch_off(step: str) -> None:
    """Patch out the parts of the recorder that ``step`` leaves out (this process only)."""
    from teamtape.recorder import _models, _recorder, _run, _turns

    if step in ("wrappers", "payloads", "state"):
        _recorder.Recorder.append = lambda *args: None  # type: ignore[method-assign]
        _recorder.Recorder.append_many = lambda *args: None  # type: ignore[method-assign]
    if step == "wrappers":
        _models._begin = lambda client, run, *args: {"run": run, "perf": 0.0, "chunk_offsets": None}
        _models._end = lambda *args: None
        _run.RunRecorder.record_item = lambda *args: None  # type: ignore[method-assign]
        _run.RunRecorder.emit = lambda *args, **kwargs: None  # type: ignore[method-assign]
        _turns._Turn.emit_turn = lambda *args: None  # type: ignore[method-assign]


async def measure(step: str, messages: int) -> dict[str, Any]:
    """Warm up, then time one run of ``messages`` messages with ``step``'s parts of the recorder."""
    import autogen_ext.models.openai  # noqa: F401  (as tests.bench.overhead does, for every step)

    full_collections = [0]

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full_collections[0] += 1

    async def timed(events_written: Any = None) -> dict[str, Any]:
        await _timed_run(WARM_UP_MESSAGES, None)
        before = events_written() if events_written else 0
        gc.callbacks.append(count)
        try:
            out = await _timed_run(messages, None)
        finally:
            gc.callbacks.remove(count)
        if events_written:
            out["events_written"] = events_written() - before
        return out

    if step == "bare":
        out = await timed()
    else:
        import teamtape

        _switch_off(step)
        store = Path(tempfile.mkdtemp(prefix="teamtape-bench-breakdown-")) / "store"
        async with teamtape.record(store=store, save_state=step not in ("wrappers", "payloads")) as rec:
            out = await timed(lambda: rec.recorder.events_written)
    return {**out, "full_collections": full_collections[0]}


def report(samples: dict[str, list[dict[str, Any]]]) -> str:
    """The table: each step's median CPU time, what it added over the step before, full collections."""
    rows = [
        "| step | CPU (median) | added | × bare | full collections (median) | events written |",
        "|---|---|---|---|---|---|",
    ]
    cpu = {step: median([s["cpu_s"] for s in runs]) for step, runs in samples.items()}
    previous = None
    for step, runs in samples.items():
        added = "" if previous is None else _signed(cpu[step] - cpu[previous])
        gcs = median([s["full_collections"] for s in runs])
        written = f"{runs[-1]['events_written']:,}" if "events_written" in runs[-1] else "–"
        rows.append(
            f"| {step} | {fmt_time(cpu[step])} | {added} | {cpu[step] / cpu['bare']:.2f}× | {gcs:g} | {written} |"
        )
        previous = step
    return "\n".join(rows)


def _signed(seconds: float) -> str:
    return f"{'+' if seconds >= 0 else '−'}{fmt_time(abs(seconds))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=900)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # a worker: one step, one run
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        figures = asyncio.run(measure(args.step, args.messages))
        if args.out is not None:
            write_figures(args.out, figures)
        else:
            print(json.dumps(figures))
        return
    samples: dict[str, list[dict[str, Any]]] = {step: [] for step in STEPS}
    for r in range(args.rounds):
        for step in STEPS[r % len(STEPS) :] + STEPS[: r % len(STEPS)]:
            samples[step].append(
                worker("tests.bench.breakdown", "--step", step, "--messages", str(args.messages))
            )
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{args.messages} messages ({TASK!r}), {args.rounds} rounds\n")
    print(report(samples))


if __name__ == "__main__":
    main()
