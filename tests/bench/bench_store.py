"""Ingest and size: events/s folded into DuckDB, bytes on disk against the raw JSON of the events.

The events are real: the runs ``teamtape demo`` records, replicated under fresh ids until the
journal holds the requested number of events.

    python -m tests.bench.bench_store [EVENTS]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from teamtape.cli import main as cli
from teamtape.store import open_store


def demo_events(workdir: Path) -> list[dict]:
    """The events of one demo recording, as journal dicts."""
    store_dir = workdir / "demo"
    cli(["demo", "--store", str(store_dir), "--json"])
    store = open_store(store_dir)
    run_ids = [r["run_id"] for r in store.query("SELECT run_id FROM runs ORDER BY started_at")]
    out = []
    for run_id in run_ids:
        for e in store.events(run_id, expand_requests=False):
            out.append(e.to_dict())
    return out


def write_journal(path: Path, template: list[dict], n_events: int) -> int:
    """Replicate the template under fresh run/event ids; returns the raw JSON bytes written."""
    written = 0
    copy = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < n_events:
            copy += 1
            suffix = f"{copy:06x}"
            lines = []
            for e in template:
                e2 = dict(e, event_id=f"{e['event_id'][:26]}{suffix}", run_id=f"{e['run_id'][:10]}{suffix}")
                lines.append(json.dumps(e2, ensure_ascii=False, separators=(",", ":")))
            f.write("\n".join(lines) + "\n")
            written += len(lines)
    return path.stat().st_size


def measure(n_events: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="teamtape-bench-"))
    try:
        template = demo_events(workdir)
        store_dir = workdir / "store"
        store = open_store(store_dir, create=True)
        raw_bytes = write_journal(store.layout.journal_dir / "bench-0-0.jsonl", template, n_events)
        started = time.perf_counter()
        report = store.sync()
        elapsed = time.perf_counter() - started
        with store.connect(sync=False) as con:
            con.execute("CHECKPOINT")
        db_bytes = store.layout.db.stat().st_size
        return {
            "events": report.events,
            "seconds": elapsed,
            "events_per_s": report.events / elapsed,
            "raw_json_mb": raw_bytes / 1e6,
            "store_mb": db_bytes / 1e6,
            "store_vs_raw": db_bytes / raw_bytes,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    os.environ.setdefault("TEAMTAPE_BUSY_TIMEOUT", "60")
    print(json.dumps(measure(n), indent=2))
