"""Item 6: how recorder overhead, store size and query time grow as one run grows.

For each size, in fresh processes: the zero-latency team run bare and recorded to N events
(:mod:`tests.bench.overhead`), then this module's worker folds the store and times the queries a
user makes of that run::

    python -m tests.bench.suite_growth --store DIR --rounds 5 --out F

Growth is judged by the exponent k of ``cost ∝ events^k`` between the two largest sizes: k ≤ 1.15
reads as linear (or better).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from teamtape.cli._show import run_document
from teamtape.store import open_store
from tests.bench._harness import Goal, Section, fmt_bytes, fmt_time, median, worker, write_figures
from tests.bench.suite_store import _cli_seconds

CONTEXT = 50
"""Each agent keeps its last 50 messages (``BufferedChatCompletionContext``): with an unbounded context
AutoGen itself re-reads the whole conversation on every model call, so a long run would measure
AutoGen's own quadratic cost rather than the recorder's."""
EVENTS_PER_MESSAGE = 8.0
LINEAR_EXPONENT = 1.15


def query_figures(store_dir: Path, rounds: int) -> dict[str, Any]:
    """Fold the store, then time ``teamtape show``'s timeline query and ``teamtape runs``."""
    store = open_store(store_dir)
    t = time.perf_counter()
    report = store.sync()
    fold_s = time.perf_counter() - t
    with store.connect(sync=False) as con:
        con.execute("CHECKPOINT")
        # The timed run is the last one started (a short warm-up run comes first).
        run_id, events = con.execute(
            "SELECT r.run_id, (SELECT count(*) FROM events e WHERE e.run_id = r.run_id) "
            "FROM runs r WHERE r.parent_run_id IS NULL ORDER BY r.started_at DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    timeline, runs = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        with store.connect() as con:
            doc = run_document(con, run_id)
        timeline.append(time.perf_counter() - t)
        runs.append(_cli_seconds(["runs", "--json", "--store", str(store_dir)]))
    return {
        "events": events,
        "folded": report.events,
        "fold_s": fold_s,
        "db_bytes": store.layout.db.stat().st_size,
        "timeline_s": median(timeline),
        "timeline_rows": len(doc["events"]),
        "runs_s": median(runs),
    }


def _exponent(sizes: list[float], costs: list[float]) -> float | None:
    if len(sizes) < 2 or min(costs[-2:]) <= 0 or sizes[-1] == sizes[-2]:
        return None
    return math.log(costs[-1] / costs[-2]) / math.log(sizes[-1] / sizes[-2])


def _one_size(events: int, rounds: int, tmp: Path) -> dict[str, Any]:
    messages = max(10, round(events / EVENTS_PER_MESSAGE))
    common = ["--messages", str(messages), "--context", str(CONTEXT)]
    out: dict[str, list[Any]] = {"bare": [], "teamtape": [], "query": []}
    for r in range(rounds):
        store = tmp / f"{events}-{r}"
        out["bare"].append(worker("tests.bench.overhead", "bare", *common)["cpu_s"])
        out["teamtape"].append(
            worker("tests.bench.overhead", "teamtape", *common, "--store", str(store))["cpu_s"]
        )
        out["query"].append(worker("tests.bench.suite_growth", "--store", str(store), "--rounds", "5"))
    return out


def section(sizes: list[int], rounds: int) -> Section:
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-growth-") as tmp:
        results = [_one_size(n, rounds, Path(tmp)) for n in sizes]
    rows, n_events, overheads, store_b, timeline, runs_q = [], [], [], [], [], []
    for res in results:
        q = res["query"]
        events = median([x["events"] for x in q])
        overhead = median([t - b for t, b in zip(res["teamtape"], res["bare"])])
        n_events.append(events)
        overheads.append(overhead)
        store_b.append(median([x["db_bytes"] for x in q]))
        folded = median([x["folded"] for x in q])
        timeline.append(median([x["timeline_s"] for x in q]))
        runs_q.append(median([x["runs_s"] for x in q]))
        rows.append(
            [
                f"{events:,.0f}",
                fmt_time(median(res["bare"])),
                f"{median(res['teamtape']) / median(res['bare']):.2f}×",
                f"{overhead / events * 1e6:.1f} µs",
                f"{fmt_bytes(store_b[-1])} ({store_b[-1] / folded:,.0f} B/event)",
                fmt_time(median([x["fold_s"] for x in q])),
                f"{fmt_time(timeline[-1])} ({timeline[-1] / events * 1e6:.1f} µs/event)",
                fmt_time(runs_q[-1]),
            ]
        )
    exps = {
        "recorder overhead (CPU)": _exponent(n_events, overheads),
        "store size": _exponent(n_events, store_b),
        "timeline query": _exponent(n_events, timeline),
    }
    verdict = ", ".join(
        f"{name} ∝ events^{k:.2f}" if k is not None else f"{name}: n/a" for name, k in exps.items()
    )
    return Section(
        title="6. Growth: one run from 1,000 to 100,000 events",
        intro=(
            "The zero-latency team of section 1, run to about N events (one run), bare and recorded, each in a "
            f"fresh process, rounds per size: {rounds}; each agent keeps its last {CONTEXT} messages as context "
            "(`BufferedChatCompletionContext`): with an unbounded context AutoGen itself re-reads the whole "
            "conversation on every model call, and a long run would measure AutoGen's quadratic cost, not "
            "teamtape's. Each process first warms up with a 30-message run, also recorded. Then the store is folded and `teamtape show`'s timeline query (`run_document`) and "
            "`teamtape runs --json` are timed (median of 5)."
        ),
        header=[
            "events in the run",
            "bare CPU",
            "recorded ÷ bare",
            "overhead per event",
            "store size",
            "fold",
            "timeline query",
            "`teamtape runs`",
        ],
        rows=rows,
        notes=[
            f"Growth between the two largest sizes: {verdict} (k ≤ {LINEAR_EXPONENT} reads as linear or better).",
        ],
        goals=[
            Goal(f"{name} grows linearly or better (exponent k)", k, LINEAR_EXPONENT, unit="")
            for name, k in exps.items()
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_figures(args.out, query_figures(args.store, args.rounds))


if __name__ == "__main__":
    main()
