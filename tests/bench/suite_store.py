"""Items 2 and 5: ingest into the store, and the runs / cost queries on a 1,000,000-event store.

Workers (run by the suite in fresh processes)::

    python -m tests.bench.suite_store ingest --events 200000 --rounds 3 --out F
    python -m tests.bench.suite_store queries --store DIR --rounds 5 --out F

Ingest folds a journal of real events (the runs ``teamtape demo`` records, replicated by
:mod:`tests.bench.bench_store`) into a fresh store; the reference is DuckDB loading the very same
journal into a plain ``events`` table with ``read_json`` (no projections, no prices): the floor for
"events into DuckDB". Queries time the ``teamtape runs --json --limit 50`` and ``teamtape cost
--by model --json`` commands end to end (in process: open the store, check for journals, query,
print JSON); the reference answers the same questions from the raw event log with plain DuckDB,
the way one would without projections.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from teamtape.cli import main as cli
from teamtape.store import open_store
from tests.bench._harness import (
    Section,
    fmt_bytes,
    fmt_ratio,
    fmt_time,
    median,
    paired_ratio,
    worker,
    write_figures,
)
from tests.bench.bench_store import demo_events, write_journal

PLAIN_COLUMNS = (
    "{event_id: 'VARCHAR', run_id: 'VARCHAR', seq: 'BIGINT', ts: 'DOUBLE', kind: 'VARCHAR', "
    "agent: 'VARCHAR', payload: 'JSON', schema_version: 'INTEGER'}"
)
RAW_RUNS_SQL = """
SELECT run_id, min(ts) AS started_at, max(ts) AS ended_at,
       any_value(payload->>'$.team_type') FILTER (WHERE kind = 'run_started') AS team_type,
       any_value(payload->>'$.status') FILTER (WHERE kind = 'run_ended') AS status,
       count(*) FILTER (WHERE kind = 'message') AS messages,
       count(*) FILTER (WHERE kind = 'llm_call') AS llm_calls,
       sum(TRY_CAST(payload->>'$.usage.input_tokens' AS BIGINT)) AS input_tokens,
       sum(TRY_CAST(payload->>'$.usage.output_tokens' AS BIGINT)) AS output_tokens
FROM events GROUP BY run_id ORDER BY started_at DESC LIMIT 50
"""
RAW_COST_SQL = """
SELECT payload->>'$.model' AS model, count(*) AS llm_calls,
       sum(TRY_CAST(payload->>'$.usage.input_tokens' AS BIGINT)) AS input_tokens,
       sum(TRY_CAST(payload->>'$.usage.output_tokens' AS BIGINT)) AS output_tokens
FROM events WHERE kind = 'llm_call' GROUP BY ALL ORDER BY input_tokens DESC
"""


# -- workers -----------------------------------------------------------------------------------------
def ingest(n_events: int, rounds: int) -> dict[str, Any]:
    """Fold ``n_events`` demo events ``rounds`` times, and load them plainly as the reference."""
    out: dict[str, list[float]] = {k: [] for k in ("fold_s", "plain_s", "store_bytes", "plain_bytes")}
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-ingest-") as tmp:
        work = Path(tmp)
        template = demo_events(work)
        for r in range(-1, rounds):  # round -1 warms up (imports, DuckDB extensions, page cache)
            store = open_store(work / f"store-{r}", create=True)
            journal = store.layout.journal_dir / "bench-0-0.jsonl"
            raw_bytes = write_journal(journal, template, n_events)
            plain_input = work / f"plain-{r}.jsonl"
            shutil.copyfile(journal, plain_input)
            t = time.perf_counter()
            report = store.sync()
            fold_s = time.perf_counter() - t
            with store.connect(sync=False) as con:
                con.execute("CHECKPOINT")
            store_bytes = store.layout.db.stat().st_size
            plain_db = work / f"plain-{r}.duckdb"
            t = time.perf_counter()
            con = duckdb.connect(str(plain_db))
            con.execute(
                f"CREATE TABLE events AS SELECT * FROM read_json(?, format='newline_delimited', columns={PLAIN_COLUMNS})",
                [str(plain_input)],
            )
            con.execute("CHECKPOINT")
            con.close()
            plain_s = time.perf_counter() - t
            plain_input.unlink()
            if r >= 0:
                for key, value in zip(out, (fold_s, plain_s, store_bytes, plain_db.stat().st_size)):
                    out[key].append(value)
    return {**out, "events": report.events, "raw_bytes": raw_bytes, "template_events": len(template)}


def _cli_seconds(args: list[str]) -> float:
    sink = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        code = cli(args)
    elapsed = time.perf_counter() - t
    if code != 0:
        raise RuntimeError(f"teamtape {' '.join(args)} exited {code}")
    return elapsed


def _raw_seconds(db: Path, sql: str) -> float:
    t = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    con.execute(sql).fetchall()
    con.close()
    return time.perf_counter() - t


def queries(store_dir: Path, rounds: int) -> dict[str, Any]:
    """``teamtape runs`` / ``teamtape cost`` against the same questions asked of the raw events."""
    store = open_store(store_dir)
    store.sync()
    db = store.layout.db
    events = store.query("SELECT count(*) AS n FROM events")[0]["n"]
    runs = store.query("SELECT count(*) AS n FROM runs")[0]["n"]
    out: dict[str, list[float]] = {k: [] for k in ("runs_cli", "runs_raw", "cost_cli", "cost_raw")}
    base = ["--store", str(store_dir), "--json"]
    _cli_seconds(["runs", "--limit", "50", *base])  # warm the OS page cache for everyone
    for _ in range(rounds):
        out["runs_cli"].append(_cli_seconds(["runs", "--limit", "50", *base]))
        out["runs_raw"].append(_raw_seconds(db, RAW_RUNS_SQL))
        out["cost_cli"].append(_cli_seconds(["cost", "--by", "model", *base]))
        out["cost_raw"].append(_raw_seconds(db, RAW_COST_SQL))
    return {**out, "events": events, "runs": runs}


# -- sections ----------------------------------------------------------------------------------------
def ingest_section(n_events: int, rounds: int) -> Section:
    f = worker("tests.bench.suite_store", "ingest", "--events", str(n_events), "--rounds", str(rounds))
    events = f["events"]
    fold, plain = median(f["fold_s"]), median(f["plain_s"])
    store_b, plain_b = median(f["store_bytes"]), median(f["plain_bytes"])
    raw = f["raw_bytes"]
    return Section(
        title="2. Ingest: events into the store, bytes on disk",
        intro=(
            f"{events:,} real events (the {f['template_events']} events `teamtape demo` records, replicated "
            f"under fresh ids) in one journal, folded into a fresh store by `Store.sync()` (events table, every "
            f"projection, costs), then `CHECKPOINT`; median of {rounds} rounds after a warm-up. Reference: DuckDB loading the same journal "
            "into a plain `events` table with `read_json` (no projections): the floor for getting events into "
            "DuckDB at all."
        ),
        header=["figure", "teamtape store", "plain DuckDB load", "ratio"],
        rows=[
            [
                "time (median)",
                fmt_time(fold),
                fmt_time(plain),
                fmt_ratio(paired_ratio(f["fold_s"], f["plain_s"])),
            ],
            ["events/s", f"{events / fold:,.0f}", f"{events / plain:,.0f}", fmt_ratio(plain / fold)],
            [
                "bytes on disk per event",
                f"{store_b / events:,.0f} B ({fmt_bytes(store_b)})",
                f"{plain_b / events:,.0f} B ({fmt_bytes(plain_b)})",
                fmt_ratio(store_b / plain_b),
            ],
            [
                "… against the raw JSON",
                f"{fmt_ratio(store_b / raw)} of {fmt_bytes(raw)}",
                f"{fmt_ratio(plain_b / raw)}",
                "",
            ],
        ],
        notes=[
            "The store holds the events plus every projection (runs, messages, llm_calls with costs, tool_calls, "
            "...); repeated request messages are stored once as content-addressed blobs.",
        ],
    )


def queries_section(store_dir: Path, rounds: int) -> Section:
    f = worker("tests.bench.suite_store", "queries", "--store", str(store_dir), "--rounds", str(rounds))
    rows = []
    for name, cli_key, raw_key in (
        ("`teamtape runs --json --limit 50`", "runs_cli", "runs_raw"),
        ("`teamtape cost --by model --json`", "cost_cli", "cost_raw"),
    ):
        rows.append(
            [
                name,
                fmt_time(median(f[cli_key])),
                fmt_time(median(f[raw_key])),
                fmt_ratio(paired_ratio(f[cli_key], f[raw_key])),
            ]
        )
    return Section(
        title=f"5. Queries on {f['events']:,} events",
        intro=(
            f"The synthetic store of section 4 ({f['runs']:,} runs, {f['events']:,} events). Each command runs in "
            f"process, end to end (open the store, look for journals, query the projections, print JSON); median "
            f"of {rounds}. Reference: the same questions asked of the raw `events` table with plain DuckDB "
            "(JSON extraction and GROUP BY over every event), what one would do without projections."
        ),
        header=["query", "teamtape (median)", "raw events, plain DuckDB", "ratio"],
        rows=rows,
        notes=[
            "The reference only sums tokens; the teamtape figures include prices, nested-run roll-ups and JSON output."
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("ingest", "queries"))
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.what == "ingest":
        write_figures(args.out, ingest(args.events, args.rounds))
    else:
        write_figures(args.out, queries(args.store, args.rounds))


if __name__ == "__main__":
    main()
