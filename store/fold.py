"""Folding: moving events from the per-process journals into the DuckDB store.

Run by whichever teamtape process reads the store (CLI, TUI, tests), under the store's write lock.
Each fold is one transaction: new journal bytes become rows of ``events`` and of every projection,
and the journal offsets move forward, or nothing happens. Lines that are not events are copied to
``quarantine/`` with a warning; good lines around them are kept. Runs whose recording process died
before ``run_ended`` get a ``run_crashed`` event. Journals of dead processes, once folded, are
removed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from .costs import PriceBook, llm_call_cost
from .db import load_sql
from .events import SCHEMA_VERSION, Kind
from .journal import list_journals, writer_is_alive
from .paths import StoreLayout

MAX_LINE_BYTES = 256 * 1024 * 1024

_STAGE_COLUMNS = (
    "{event_id: 'VARCHAR', run_id: 'VARCHAR', seq: 'BIGINT', ts: 'DOUBLE', kind: 'VARCHAR', "
    "agent: 'VARCHAR', payload: 'JSON', schema_version: 'INTEGER'}"
)


@dataclass
class FoldReport:
    """What one fold did."""

    events: int = 0
    journals_read: int = 0
    journals_removed: int = 0
    crashed_runs: list[str] = field(default_factory=list)
    quarantined_lines: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Chunk:
    journal: Path
    start: int
    end: int
    data: bytes
    alive: bool


def _read_new_bytes(layout: StoreLayout, offsets: dict[str, int], report: FoldReport) -> list[_Chunk]:
    chunks = []
    for path in list_journals(layout.journal_dir):
        start = offsets.get(path.name, 0)
        alive = writer_is_alive(path)
        try:
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read()
        except OSError as e:
            report.warnings.append(f"could not read journal {path}: {e}")
            continue
        cut = data.rfind(b"\n") + 1
        if not alive and cut < len(data):
            # A dead writer left a torn last line: keep the good part, quarantine the rest.
            _quarantine(layout, path.name, [data[cut:]], report)
            cut = len(data)
        chunks.append(_Chunk(path, start, start + cut, data[:cut], alive))
    return chunks


def _event_lines(data: bytes) -> int:
    """How many non-blank lines ``data`` holds (DuckDB skips blank ones)."""
    if b"\n\n" not in data and not data.startswith(b"\n"):
        return data.count(b"\n")  # the usual case, without splitting a large chunk
    return sum(1 for line in data.split(b"\n") if line.strip())


def _quarantine(layout: StoreLayout, journal: str, lines: list[bytes], report: FoldReport) -> None:
    if not lines:
        return
    layout.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = layout.quarantine_dir / f"{journal}.bad"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for line in lines:
            os.write(fd, line.rstrip(b"\n") + b"\n")
    finally:
        os.close(fd)
    report.quarantined_lines += len(lines)
    report.warnings.append(
        f"{len(lines)} unreadable line(s) in journal {journal} were skipped and kept in {target}"
    )


_VALID_ROW = (
    "event_id IS NOT NULL AND run_id IS NOT NULL AND seq IS NOT NULL AND ts IS NOT NULL AND kind IS NOT NULL "
    "AND NOT isnan(ts) AND NOT isinf(ts) AND abs(ts) <= 1e11 "
    "AND (payload IS NULL OR starts_with(CAST(payload AS VARCHAR), '{'))"
)


def _read_json_sql(select: str, where: str = "") -> str:
    return (
        f"{select} FROM read_json(?, format='newline_delimited', columns={_STAGE_COLUMNS}, "
        f"ignore_errors=true, maximum_object_size={MAX_LINE_BYTES}) {where}"
    )


def _stage(con: duckdb.DuckDBPyConnection, layout: StoreLayout, chunks: list[_Chunk], report: FoldReport) -> int:
    """Load the new journal lines into the temp table ``new_events``; returns its row count.

    One pass per journal chunk: DuckDB parses the lines and keeps the valid ones. Only when a
    chunk holds lines that are not events is it read again to find and quarantine them.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE new_events (event_id VARCHAR, run_id VARCHAR, seq BIGINT, ts TIMESTAMP, "
        "kind VARCHAR, agent VARCHAR, payload JSON, schema_version INTEGER)"
    )
    payload = [c for c in chunks if c.data]
    if not payload:
        return 0
    layout.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stage = layout.tmp_dir / f"stage-{os.getpid()}.jsonl"
    for chunk in payload:
        whole_file = chunk.start == 0 and not chunk.alive and chunk.journal.stat().st_size == chunk.end
        source = chunk.journal if whole_file else stage
        if not whole_file:
            stage.write_bytes(chunk.data)
        try:
            inserted = con.execute(
                "INSERT INTO new_events "
                + _read_json_sql(
                    "SELECT event_id, run_id, seq, make_timestamp(CAST(ts * 1000000 AS BIGINT)), kind, agent, "
                    "coalesce(payload, '{}'), coalesce(schema_version, 1)",
                    f"WHERE {_VALID_ROW}",
                ),
                [str(source)],
            ).fetchone()[0]  # type: ignore[index]
            if inserted != _event_lines(chunk.data):
                bad = con.execute(
                    _read_json_sql("SELECT line_no FROM (SELECT row_number() OVER () AS line_no, *")
                    + f") WHERE NOT ({_VALID_ROW}) OR event_id IS NULL",
                    [str(source)],
                ).fetchall()
                lines = [line for line in chunk.data.split(b"\n") if line.strip()]  # numbered as DuckDB does
                _quarantine(layout, chunk.journal.name, [lines[n - 1] for (n,) in bad if n - 1 < len(lines)], report)
        finally:
            stage.unlink(missing_ok=True)
    too_new = con.execute(
        "SELECT count(*), max(schema_version) FROM new_events WHERE schema_version > ?", [SCHEMA_VERSION]
    ).fetchone()
    if too_new and too_new[0]:
        report.warnings.append(
            f"{too_new[0]} event(s) use event schema version {too_new[1]} (this teamtape reads up to "
            f"{SCHEMA_VERSION}); they were kept as they are: upgrade teamtape to read them fully"
        )
    # The same event may arrive twice (a tape imported twice): keep the first, skip known ones.
    if any(c.journal.name.startswith("import-") for c in payload):
        con.execute(
            """CREATE OR REPLACE TEMP TABLE new_events AS
               SELECT * FROM new_events n
               WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = n.event_id)
               QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ts) = 1"""
        )
    return con.execute("SELECT count(*) FROM new_events").fetchone()[0]  # type: ignore[index]


def _price_new_calls(con: duckdb.DuckDBPyConnection, prices: PriceBook) -> None:
    """Price the staged llm_calls (``new_llm``) into the temp table ``new_costs``."""
    rows = con.execute(
        """SELECT event_id, p.model, p.provider, p.usage.input_tokens, p.usage.output_tokens,
                  p.usage.cache_read_tokens, coalesce(p.cached, false), p.error.message IS NOT NULL
           FROM new_llm"""
    ).fetchall()
    ids, costs, sources = [], [], []
    for event_id, model, provider, i, o, c, cached, failed in rows:
        cost, source = llm_call_cost(prices, model, provider, i, o, c, cached=cached, failed=failed)
        ids.append(event_id)
        costs.append(cost)
        sources.append(source)
    table = pa.table(
        {"event_id": pa.array(ids, pa.string()), "cost_usd": pa.array(costs, pa.float64()),
         "price_source": pa.array(sources, pa.string())}
    )
    con.register("new_costs_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE new_costs AS SELECT * FROM new_costs_arrow")
    con.unregister("new_costs_arrow")


def _project_staged(con: duckdb.DuckDBPyConnection, prices: PriceBook) -> None:
    """Apply the staged ``new_events`` to every projection."""
    con.execute(load_sql("stage_llm_calls.sql"))
    _price_new_calls(con, prices)
    con.execute(load_sql("project_new_events.sql"))
    con.execute(load_sql("update_runs.sql"))


def _project(con: duckdb.DuckDBPyConnection, prices: PriceBook) -> None:
    con.execute("INSERT INTO events SELECT * FROM new_events")
    _project_staged(con, prices)


def _crashed_run_events(
    con: duckdb.DuckDBPyConnection, layout: StoreLayout, alive_when_read: dict[str, bool]
) -> list[dict]:
    """run_crashed events for running runs whose recording process is gone.

    A journal whose writer was alive when this fold read it may have grown before the writer died (or
    exited normally, after writing ``run_ended``): only a journal seen dead when it was read, or gone,
    has given us every event, so only its runs can be called crashed now; the next fold sees the rest.
    """
    running = con.execute(
        """SELECT r.run_id, r.journal, max(e.seq), epoch(max(e.ts))
           FROM runs r JOIN events e USING (run_id)
           WHERE r.status = 'running' GROUP BY r.run_id, r.journal"""
    ).fetchall()
    alive_cache: dict[str | None, bool] = {}
    out = []
    now = time.time()
    for run_id, journal, max_seq, last_ts in running:
        if journal not in alive_cache:
            seen = alive_when_read.get(journal) if journal else None
            alive = seen if seen is not None else bool(journal) and writer_is_alive(layout.journal_dir / journal)
            alive_cache[journal] = alive
        if alive_cache[journal]:
            continue
        out.append(
            {
                "event_id": f"crash-{run_id}",
                "run_id": run_id,
                "seq": int(max_seq) + 1,
                "ts": now,
                "kind": Kind.RUN_CRASHED.value,
                "agent": None,
                "payload": json.dumps(
                    {"reason": "the recording process ended without finishing this run", "last_event_ts": last_ts}
                ),
                "schema_version": SCHEMA_VERSION,
            }
        )
    return out


def _stage_rows(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows)
    con.register("synthetic_arrow", table)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE new_events AS
           SELECT event_id, run_id, seq::BIGINT AS seq, make_timestamp(CAST(ts * 1000000 AS BIGINT)) AS ts,
                  kind, agent, payload::JSON AS payload, schema_version::INTEGER AS schema_version
           FROM synthetic_arrow"""
    )
    con.unregister("synthetic_arrow")


def fold(con: duckdb.DuckDBPyConnection, layout: StoreLayout, prices: PriceBook) -> FoldReport:
    """Fold every journal's new lines into the store, in one transaction."""
    report = FoldReport()
    offsets = dict(con.execute("SELECT journal, offset_bytes FROM journal_offsets").fetchall())
    chunks = _read_new_bytes(layout, offsets, report)
    report.journals_read = sum(1 for c in chunks if c.data)
    con.execute("BEGIN TRANSACTION")
    try:
        report.events = _stage(con, layout, chunks, report)
        if report.events:
            _project(con, prices)
        crashed = _crashed_run_events(con, layout, {c.journal.name: c.alive for c in chunks})
        if crashed:
            _stage_rows(con, crashed)
            _project(con, prices)
            report.crashed_runs = [r["run_id"] for r in crashed]
        for chunk in chunks:
            if chunk.end != chunk.start:
                con.execute(
                    "INSERT OR REPLACE INTO journal_offsets VALUES (?, ?, now())", [chunk.journal.name, chunk.end]
                )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for chunk in chunks:
        if not chunk.alive and chunk.journal.stat().st_size <= chunk.end:
            chunk.journal.unlink(missing_ok=True)
            con.execute("DELETE FROM journal_offsets WHERE journal = ?", [chunk.journal.name])
            report.journals_removed += 1
    return report


def rebuild_projections(con: duckdb.DuckDBPyConnection, prices: PriceBook) -> int:
    """Recompute every projection from the events table (e.g. after changing prices)."""
    tables = ("runs", "messages", "llm_calls", "tool_calls", "handoffs", "memory_queries", "speaker_selections", "blobs")
    con.execute("BEGIN TRANSACTION")
    try:
        for t in tables:
            con.execute(f"DELETE FROM {t}")
        con.execute("CREATE OR REPLACE TEMP TABLE new_events AS SELECT * FROM events ORDER BY run_id, seq")
        n = con.execute("SELECT count(*) FROM new_events").fetchone()[0]  # type: ignore[index]
        _project_staged(con, prices)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(n)
