"""Folding: moving events from the per-process journals into the DuckDB store.

Run by whichever teamtape process reads the store (CLI, TUI, tests), under the store's write lock.
New journal lines are folded a batch of about ``SEGMENT_BYTES`` at a time, each batch one
transaction: its lines become rows of ``events`` and of every projection and the journal offsets
move past them, or nothing happens. Lines that are not events are copied to
``quarantine/`` with a warning; good lines around them are kept. Runs whose recording process died
before ``run_ended`` get a ``run_crashed`` event. Journals of dead processes, once folded, are
removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from .costs import PriceBook, llm_call_cost
from .db import load_sql
from .events import SCHEMA_VERSION, Kind
from .journal import ALIVE_SUFFIX, alive_path, last_alive, list_journals, writer_is_alive
from .paths import StoreLayout
from .spill import SPILL_BYTES, spill

MAX_LINE_BYTES = 256 * 1024 * 1024
SEGMENT_BYTES = 16 * 1024 * 1024
"""About how many journal bytes one fold batch stages and projects at a time."""
WHOLE_JOURNAL_BYTES = 256 * 1024 * 1024
"""A finished journal up to this size, with no line over ``SPILL_BYTES``, is folded as one batch."""

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
    """The new part of one journal: whole lines in ``start``..``lines_end``, read segment by segment.

    ``end`` is where the next fold starts: past a dead writer's torn last line, which is quarantined.
    """

    journal: Path
    start: int
    lines_end: int
    end: int
    alive: bool


def _last_line_end(f: BinaryIO, start: int, size: int) -> int:
    """The offset just after the last newline in ``start``..``size`` (``start`` when there is none)."""
    pos = size
    while pos > start:
        step = min(1024 * 1024, pos - start)
        f.seek(pos - step)
        cut = f.read(step).rfind(b"\n")
        if cut >= 0:
            return pos - step + cut + 1
        pos -= step
    return start


def _read_new_bytes(layout: StoreLayout, offsets: dict[str, int], report: FoldReport) -> list[_Chunk]:
    """Where each journal's new whole lines are; a dead writer's torn last line goes to quarantine."""
    chunks = []
    for path in list_journals(layout.journal_dir):
        start = offsets.get(path.name, 0)
        alive = writer_is_alive(path)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                end = _last_line_end(f, start, size) if size > start else start
                if not alive and end < size:
                    # A dead writer left a torn last line: keep the good part, quarantine the rest.
                    f.seek(end)
                    _quarantine(layout, path.name, [f.read(size - end)], report)
        except OSError as e:
            report.warnings.append(f"could not read journal {path}: {e}")
            continue
        chunks.append(_Chunk(path, start, end, size if not alive else end, alive))
    return chunks


def _segments(chunk: _Chunk) -> Iterator[tuple[int, bytes]]:
    """The chunk's whole lines in pieces of about ``SEGMENT_BYTES`` (a longer line is one piece), each
    with the journal offset just past it."""
    carry = b""
    with open(chunk.journal, "rb") as f:
        f.seek(chunk.start)
        pos = chunk.start
        while pos < chunk.lines_end:
            block = f.read(min(SEGMENT_BYTES, chunk.lines_end - pos))
            if not block:  # the file shrank under us: what was read is all there is
                break
            pos += len(block)
            data = carry + block
            cut = len(data) if pos >= chunk.lines_end else data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                yield pos - len(carry), data[:cut]


def _event_lines(data: bytes) -> int:
    """How many non-blank lines ``data`` holds (DuckDB skips blank ones)."""
    if b"\n\n" not in data and not data.startswith(b"\n"):
        return data.count(b"\n")  # the usual case (every piece ends with a newline), without splitting
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


def _read_json_sql(longest_line: int, select: str, where: str = "") -> str:
    # DuckDB sizes its read buffers by the largest object allowed: no larger than the longest line needs.
    largest = min(MAX_LINE_BYTES, max(longest_line + 1, 1024 * 1024))
    return (
        f"{select} FROM read_json(?, format='newline_delimited', columns={_STAGE_COLUMNS}, "
        f"ignore_errors=true, maximum_object_size={largest}) {where}"
    )


@dataclass
class _WholeJournal:
    """A finished journal DuckDB reads straight from its file, as one piece: its lines and longest one."""

    lines: int
    longest: int


def _whole_journal(chunk: _Chunk) -> _WholeJournal | None:
    """A finished journal of at most ``WHOLE_JOURNAL_BYTES`` and no line over ``SPILL_BYTES``, as one
    piece; None otherwise (it is read in pieces, which bounds the memory a huge line takes)."""
    if chunk.alive or chunk.start or chunk.lines_end != chunk.end or not 0 < chunk.end <= WHOLE_JOURNAL_BYTES:
        return None
    lines = longest = 0
    tail = b""
    with open(chunk.journal, "rb") as f:
        while block := f.read(SEGMENT_BYTES):
            data = tail + block
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if cut:
                lines += _event_lines(data[:cut])
                longest = max(longest, *map(len, data[: cut - 1].split(b"\n")))
            if longest > SPILL_BYTES or len(tail) > SPILL_BYTES:
                return None
    return _WholeJournal(lines, longest) if not tail else None


Piece = bytes | _WholeJournal


def _batches(chunks: list[_Chunk]) -> Iterator[list[tuple[_Chunk, int, Piece]]]:
    """The new lines of every journal in batches of about ``SEGMENT_BYTES`` (chunk, offset past the
    piece, piece): a fold's memory is bounded by a batch, or its longest line, not by the journals.

    A finished journal of ordinary lines is one batch of its own, read by DuckDB from the file: every
    batch costs DuckDB a fixed amount per statement, and a copy through Python costs time too.
    """
    batch: list[tuple[_Chunk, int, Piece]] = []
    size = 0
    for chunk in chunks:
        whole = _whole_journal(chunk)
        if whole is not None:
            if batch:
                yield batch
                batch, size = [], 0
            yield [(chunk, chunk.end, whole)]
            continue
        for end, piece in _segments(chunk):
            if batch and size + len(piece) > SEGMENT_BYTES:
                yield batch
                batch, size = [], 0
            batch.append((chunk, end, piece))
            size += len(piece)
    if batch:
        yield batch


def _stage(
    con: duckdb.DuckDBPyConnection,
    layout: StoreLayout,
    batch: list[tuple[_Chunk, int, Piece]],
    report: FoldReport,
) -> int:
    """Load a batch of journal lines into the temp table ``new_events``; returns its row count.

    One pass per piece: DuckDB parses the lines and keeps the valid ones. Only when a piece holds
    lines that are not events is it read again to find and quarantine them.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE new_events (event_id VARCHAR, run_id VARCHAR, seq BIGINT, ts TIMESTAMP, "
        "kind VARCHAR, agent VARCHAR, payload JSON, schema_version INTEGER)"
    )
    layout.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stage = layout.tmp_dir / f"stage-{os.getpid()}.jsonl"
    for chunk, _, piece in batch:
        whole = isinstance(piece, _WholeJournal)
        source = chunk.journal if whole else stage
        if not whole:
            stage.write_bytes(piece)
        longest = piece.longest if whole else len(piece)
        try:
            inserted = con.execute(
                "INSERT INTO new_events "
                + _read_json_sql(
                    longest,
                    "SELECT event_id, run_id, seq, make_timestamp(CAST(ts * 1000000 AS BIGINT)), kind, agent, "
                    "coalesce(payload, '{}'), coalesce(schema_version, 1)",
                    f"WHERE {_VALID_ROW}",
                ),
                [str(source)],
            ).fetchone()[0]  # type: ignore[index]
            if inserted != (piece.lines if whole else _event_lines(piece)):
                bad = con.execute(
                    _read_json_sql(longest, "SELECT line_no FROM (SELECT row_number() OVER () AS line_no, *")
                    + f") WHERE NOT ({_VALID_ROW}) OR event_id IS NULL",
                    [str(source)],
                ).fetchall()
                _quarantine(
                    layout,
                    chunk.journal.name,
                    _numbered_lines(chunk.journal if whole else piece, {n for (n,) in bad}),
                    report,
                )
        finally:
            stage.unlink(missing_ok=True)
    _spill_large(con, layout)
    too_new = con.execute(
        "SELECT count(*), max(schema_version) FROM new_events WHERE schema_version > ?", [SCHEMA_VERSION]
    ).fetchone()
    if too_new and too_new[0]:
        report.warnings.append(
            f"{too_new[0]} event(s) use event schema version {too_new[1]} (this teamtape reads up to "
            f"{SCHEMA_VERSION}); they were kept as they are: upgrade teamtape to read them fully"
        )
    # The same event may arrive twice (a tape imported twice): keep the first, skip known ones.
    if any(c.journal.name.startswith("import-") for c, _, _ in batch):
        con.execute(
            """CREATE OR REPLACE TEMP TABLE new_events AS
               SELECT * FROM new_events n
               WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = n.event_id)
               QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ts) = 1"""
        )
    return con.execute("SELECT count(*) FROM new_events").fetchone()[0]  # type: ignore[index]


def _numbered_lines(source: Path | bytes, numbers: set[int]) -> list[bytes]:
    """The lines of a piece or of a whole journal (read line by line) with these numbers, counted from 1
    over the non-blank lines as DuckDB numbers them."""
    with contextlib.ExitStack() as stack:
        lines = source.split(b"\n") if isinstance(source, bytes) else stack.enter_context(open(source, "rb"))
        return [line for n, line in enumerate((x for x in lines if x.strip()), 1) if n in numbers]


def _spill_large(con: duckdb.DuckDBPyConnection, layout: StoreLayout) -> None:
    """Keep the staged events whose payload is over ``SPILL_BYTES`` whole in ``spill/``, a preview in
    DuckDB (see :mod:`teamtape.store.spill`): the database then never holds a huge value."""
    large = con.execute(
        "SELECT DISTINCT event_id, kind FROM new_events WHERE strlen(CAST(payload AS VARCHAR)) > ?",
        [SPILL_BYTES],
    ).fetchall()
    for event_id, kind in large:
        (text,) = con.execute(
            "SELECT CAST(payload AS VARCHAR) FROM new_events WHERE event_id = ? LIMIT 1", [event_id]
        ).fetchone()  # type: ignore[misc]
        kept = spill(layout.spill_dir, kind, event_id, text)
        con.execute("UPDATE new_events SET payload = ? WHERE event_id = ?", [kept, event_id])


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
        {
            "event_id": pa.array(ids, pa.string()),
            "cost_usd": pa.array(costs, pa.float64()),
            "price_source": pa.array(sources, pa.string()),
        }
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
    dead = []
    for run_id, journal, max_seq, last_ts in running:
        if journal not in alive_cache:
            seen = alive_when_read.get(journal) if journal else None
            alive = (
                seen if seen is not None else bool(journal) and writer_is_alive(layout.journal_dir / journal)
            )
            alive_cache[journal] = alive
        if not alive_cache[journal]:
            dead.append((run_id, journal, max_seq, last_ts))
    pending = _pending_model_calls(con, [run_id for run_id, *_ in dead]) if dead else {}
    out = []
    now = time.time()
    for run_id, journal, max_seq, last_ts in dead:
        alive = _last_alive(layout, journal, last_ts)
        out.append(
            {
                "event_id": f"crash-{run_id}",
                "run_id": run_id,
                "seq": int(max_seq) + 1,
                "ts": alive if alive is not None else now,
                "kind": Kind.RUN_CRASHED.value,
                "agent": None,
                "payload": json.dumps(
                    {
                        "reason": _crash_reason(last_ts, alive, pending.get(run_id, [])),
                        "last_event_ts": last_ts,
                        "last_alive_ts": alive,
                    }
                ),
                "schema_version": SCHEMA_VERSION,
            }
        )
    return out


def _last_alive(layout: StoreLayout, journal: str | None, last_event_ts: float | None) -> float | None:
    """When the dead writer of ``journal`` was last known alive (its mark, see
    :func:`teamtape.store.journal.mark_alive_until`), never before its last event; None without a mark."""
    alive = last_alive(layout.journal_dir / journal) if journal else None
    return None if alive is None else max(alive, last_event_ts or 0.0)


def _crash_reason(last_event_ts: float | None, last_alive_ts: float | None, pending: list[str]) -> str:
    """Why a run has no end, with how long its process went on after its last event when that says
    something (a model call or tool that hung, then the process was killed), and the model calls it
    had sent and not had an answer to (``pending``: "agent → model")."""
    reason = "the recording process ended without finishing this run"
    waiting = f"waiting on {_model_calls(pending)}" if pending else "it was waiting on something"
    if last_event_ts is None or last_alive_ts is None or last_alive_ts - last_event_ts < CRASH_SILENCE_NOTED:
        return f"{reason} ({waiting})" if pending else reason
    return f"{reason}, {last_alive_ts - last_event_ts:.0f} s after its last event ({waiting})"


def _model_calls(pending: list[str]) -> str:
    shown = ", ".join(pending[:3]) + (f" and {len(pending) - 3} more" if len(pending) > 3 else "")
    return f"a model call: {shown}" if len(pending) == 1 else f"{len(pending)} model calls: {shown}"


def _pending_model_calls(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> dict[str, list[str]]:
    """The model calls each run sent and had no answer to, as "agent → model", in order."""
    rows = con.execute(
        """SELECT s.run_id, s.agent, s.payload->>'$.model'
           FROM events s
           WHERE s.kind = 'llm_call_started' AND list_contains(?, s.run_id)
             AND NOT EXISTS (SELECT 1 FROM llm_calls c
                             WHERE c.run_id = s.run_id AND c.call_id = s.payload->>'$.call_id')
           ORDER BY s.run_id, s.seq""",
        [run_ids],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for run_id, agent, model in rows:
        out.setdefault(run_id, []).append(f"{agent or 'the team'} → {model or 'its model'}")
    return out


CRASH_SILENCE_NOTED = 3.0
"""Seconds between a crashed run's last event and its process's end worth saying in the reason."""


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


def _remove_abandoned_files(layout: StoreLayout, report: FoldReport) -> None:
    """Half-written files of killed imports and folds (they never reached ``journal/`` or ``spill/``:
    nothing is lost). Only a fold writes spill files, and it holds the store's write lock."""
    if layout.spill_dir.is_dir():
        for path in layout.spill_dir.glob(".*.tmp"):
            path.unlink(missing_ok=True)
    if layout.journal_dir.is_dir():  # the alive marks of journals removed before them
        for path in layout.journal_dir.glob(f"*{ALIVE_SUFFIX}"):
            if not path.with_name(path.name.removesuffix(ALIVE_SUFFIX)).exists():
                path.unlink(missing_ok=True)
    if not layout.tmp_dir.is_dir():
        return
    for path in layout.tmp_dir.glob("*.jsonl"):
        if path.name.startswith("stage-") or not writer_is_alive(path):  # a fold holds the write lock
            path.unlink(missing_ok=True)
            if path.name.startswith("import-"):
                report.warnings.append(f"removed {path}, left by an import that was stopped: run it again")


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _save_offset(con: duckdb.DuckDBPyConnection, journal: str, offset: int) -> None:
    con.execute("INSERT OR REPLACE INTO journal_offsets VALUES (?, ?, now())", [journal, offset])


def fold(con: duckdb.DuckDBPyConnection, layout: StoreLayout, prices: PriceBook) -> FoldReport:
    """Fold every journal's new lines into the store.

    A batch at a time (about ``SEGMENT_BYTES``, or one finished journal: see :func:`_batches`), each
    batch one transaction that also moves the journals' offsets past it: a fold stopped anywhere keeps
    every event exactly once, and its memory does not grow with the journals. Runs of dead writers are
    marked crashed in the last transaction. The database is checkpointed once, at the end.
    """
    report = FoldReport()
    # One checkpoint at the end, not one per batch: each would rewrite the tables' last row groups.
    (threshold,) = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()  # type: ignore[misc]
    con.execute("SET checkpoint_threshold = '1GB'")
    try:
        _fold_batches(con, layout, prices, report)
    finally:
        con.execute("SET checkpoint_threshold = ?", [threshold])
    if report.events:
        con.execute("CHECKPOINT")
    return report


def _fold_batches(
    con: duckdb.DuckDBPyConnection, layout: StoreLayout, prices: PriceBook, report: FoldReport
) -> None:
    offsets = dict(con.execute("SELECT journal, offset_bytes FROM journal_offsets").fetchall())
    chunks = _read_new_bytes(layout, offsets, report)
    report.journals_read = sum(1 for c in chunks if c.lines_end > c.start)
    for batch in _batches(chunks):
        with _transaction(con):
            staged = _stage(con, layout, batch, report)
            if staged:
                _project(con, prices)
            for chunk, end, _ in batch:
                _save_offset(con, chunk.journal.name, end)
        report.events += staged
    with _transaction(con):
        crashed = _crashed_run_events(con, layout, {c.journal.name: c.alive for c in chunks})
        if crashed:
            _stage_rows(con, crashed)
            _project(con, prices)
            report.crashed_runs = [r["run_id"] for r in crashed]
        for chunk in chunks:
            if chunk.end != chunk.start:
                _save_offset(con, chunk.journal.name, chunk.end)
    _remove_abandoned_files(layout, report)
    for chunk in chunks:
        if not chunk.alive and chunk.journal.stat().st_size <= chunk.end:
            chunk.journal.unlink(missing_ok=True)
            alive_path(chunk.journal).unlink(missing_ok=True)
            con.execute("DELETE FROM journal_offsets WHERE journal = ?", [chunk.journal.name])
            report.journals_removed += 1


def rebuild_projections(con: duckdb.DuckDBPyConnection, prices: PriceBook) -> int:
    """Recompute every projection from the events table (e.g. after changing prices)."""
    tables = (
        "runs",
        "messages",
        "llm_calls",
        "tool_calls",
        "handoffs",
        "memory_queries",
        "speaker_selections",
        "blobs",
    )
    with _transaction(con):
        for t in tables:
            con.execute(f"DELETE FROM {t}")
        con.execute("CREATE OR REPLACE TEMP TABLE new_events AS SELECT * FROM events ORDER BY run_id, seq")
        n = con.execute("SELECT count(*) FROM new_events").fetchone()[0]  # type: ignore[index]
        _project_staged(con, prices)
    return int(n)
