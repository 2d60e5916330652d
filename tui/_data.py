"""Data access for the TUI: short SQL queries over the store's projections (headless).

Every function opens the store with :meth:`Store.connect` (which folds new journal lines first),
runs a few short queries and closes it again, so recorders and other readers are never locked out
for long. They are called from thread workers; none of them touches textual.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from teamtape.store import Store
from teamtape.store.costs import NO_USAGE
from teamtape.store.requests import resolve_request_messages

from ._filter import RunFilter
from ._format import NO_AGENT
from ._timeline import Entry, Marker, make_entry

_RUN_COLUMNS = """run_id, parent_run_id, session_id, replay_of, name, team_type, task, status, stop_reason, error,
    epoch_us(started_at) / 1e6 AS started, epoch_us(ended_at) / 1e6 AS ended, duration_ms, messages, llm_calls,
    tool_calls, input_tokens, output_tokens, cost_usd, unpriced_calls, events, failed_calls"""


@dataclass(slots=True)
class RunRow:
    """One row of the ``runs`` projection, as the TUI shows it."""

    run_id: str
    parent_run_id: str | None
    session_id: str | None
    replay_of: str | None
    name: str | None
    team_type: str | None
    task: str | None
    status: str
    stop_reason: str | None
    error: str | None
    started: float | None
    ended: float | None
    duration_ms: float | None
    messages: int
    llm_calls: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    unpriced_calls: int
    events: int
    failed_calls: int = 0
    """Its own model and tool calls that failed (an ``ok`` run may have some: see ``teamtape runs``)."""

    @property
    def tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def title(self) -> str:
        """``name · team`` (either may be missing)."""
        parts = [p for p in (self.name, self.team_type) if p]
        return " · ".join(dict.fromkeys(parts)) or "(unnamed run)"


def _run_rows(cur: duckdb.DuckDBPyConnection) -> list[RunRow]:
    return [
        RunRow(
            *(r[:7]),
            r[7] or "unknown",
            *(r[8:13]),
            *(int(x or 0) for x in r[13:18]),
            r[18],
            int(r[19] or 0),
            int(r[20] or 0),
            int(r[21] or 0),
        )
        for r in cur.fetchall()
    ]


FIRST_PAGE = 150
"""Top-level runs in the first, quick page of a big store (see :func:`fetch_runs`)."""


@dataclass
class RunsResult:
    """The runs matching a filter, plus the store's size."""

    rows: list[RunRow]
    total: int
    fingerprint: tuple[int, int]


def store_fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Changes whenever a run is added or gains events (so: whenever the runs table changes)."""
    n, events = con.execute("SELECT count(*), coalesce(sum(events), 0) FROM runs").fetchone()  # type: ignore[misc]
    return int(n), int(events)


def fetch_fingerprint(store: Store) -> tuple[int, int]:
    """Fold new journal lines and return :func:`store_fingerprint`."""
    with store.connect() as con:
        return store_fingerprint(con)


def fetch_runs(
    store: Store, flt: RunFilter | None = None, *, first_page: Callable[[RunsResult], None] | None = None
) -> RunsResult:
    """Every run matching ``flt`` (all runs when None), in no particular order.

    ``first_page``, if given and the store is big, is called first with the newest :data:`FIRST_PAGE`
    top-level runs and their nested runs (what a screen shows first); the store is not held while it runs.
    """
    where, params = (flt or RunFilter()).to_sql()
    if first_page is not None:
        with store.connect() as con:
            fingerprint = store_fingerprint(con)
            first = None
            if fingerprint[0] > FIRST_PAGE:
                top = f"""SELECT run_id FROM runs WHERE parent_run_id IS NULL AND {where}
                          ORDER BY started_at DESC NULLS LAST LIMIT {FIRST_PAGE}"""
                first = _run_rows(
                    con.execute(
                        f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where} AND (run_id IN ({top}) OR parent_run_id IN ({top}))",
                        [*params, *params, *params],
                    )
                )
        if first is not None:
            first_page(RunsResult(first, fingerprint[0], fingerprint))
    with store.connect() as con:
        fingerprint = store_fingerprint(con)
        rows = _run_rows(con.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where}", params))
    return RunsResult(rows, fingerprint[0], fingerprint)


@dataclass
class Timeline:
    """A run's row, a slice of its entries, its nested runs, and where the slice stopped."""

    run: RunRow
    entries: list[Entry]
    last_seq: int
    children: list[RunRow] = field(default_factory=list)
    complete: bool = True
    """False when ``limit`` cut the slice short: load again with ``after_seq=last_seq`` for the rest."""


# What a timeline line needs of a payload: the bulky parts (LLM requests and responses, saved state, team
# configs, what autogen logged, long texts and results) are left out and fetched when inspected.
_LEAN_PAYLOAD = """json_merge_patch(e.payload, json_object(
    'raw', NULL, 'state', NULL, 'config', NULL, 'request', NULL, 'task_messages', NULL, 'response', NULL,
    'text', left(coalesce(e.payload->>'$.text', e.payload->>'$.content'), 2000),
    'result', left(e.payload->>'$.result', 2000),
    'content', CASE WHEN length(CAST(e.payload->'$.content' AS VARCHAR)) > 8000 THEN NULL
                    ELSE e.payload->'$.content' END,
    'results', CASE WHEN length(CAST(e.payload->'$.results' AS VARCHAR)) > 8000 THEN NULL
                    ELSE e.payload->'$.results' END,
    'arguments', CASE WHEN length(CAST(e.payload->'$.arguments' AS VARCHAR)) > 8000 THEN NULL
                      ELSE e.payload->'$.arguments' END))"""


def _load_entries(
    con: duckdb.DuckDBPyConnection, run_id: str, after_seq: int, limit: int | None, depth: int, lean: bool
) -> tuple[list[Entry], int, bool]:
    payload_sql = _LEAN_PAYLOAD if lean else "e.payload"
    rows = con.execute(
        f"""SELECT e.seq, epoch_us(e.ts) / 1e6, e.kind, e.agent, CAST({payload_sql} AS VARCHAR), l.cost_usd
           FROM events e LEFT JOIN (SELECT event_id, cost_usd FROM llm_calls WHERE run_id = ?) l USING (event_id)
           WHERE e.run_id = ? AND e.seq > ?
             AND NOT (e.kind = 'llm_call_started' AND e.payload->>'$.call_id' IN
                      (SELECT call_id FROM llm_calls WHERE run_id = ?))
           ORDER BY e.seq {"LIMIT ?" if limit else ""}""",
        [run_id, run_id, after_seq, run_id, *([limit] if limit else [])],
    ).fetchall()
    entries = []
    last = after_seq
    for seq, ts, kind, agent, payload, cost in rows:
        last = seq
        if kind == "blob":
            continue
        try:
            data = json.loads(payload) if payload else {}
        except ValueError:
            data = {"unreadable_payload": payload}
        entry = make_entry(run_id, seq, ts, kind, agent, data, cost)
        if entry is not None:
            entry.depth = depth
            entry.partial = lean
            entries.append(entry)
    return entries, last, not limit or len(rows) < limit


def _run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> RunRow | None:
    rows = _run_rows(con.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [run_id]))
    return rows[0] if rows else None


def _placeholder_summary(child: RunRow) -> str:
    return f"{child.title} · {child.status} · {child.events} events"


def refresh_placeholders(entries: list[Entry], children: list[RunRow], depth: int) -> bool:
    """Keep the lines :func:`place_children` placed up to date in a timeline that grows (a live run):
    a line whose nested run's tool call has arrived since is removed (the tool call's line stands for
    it, and the same run would be listed twice), the others show the nested run's status now.

    Returns whether anything changed.
    """
    by_id = {c.run_id: c for c in children}
    called = {e.child_run_id for e in entries if e.child_run_id and e.kind != "nested_run"}
    changed, i = False, 0
    while i < len(entries):
        entry = entries[i]
        if entry.kind != "nested_run" or entry.depth != depth:
            i += 1
            continue
        if entry.child_run_id in called:
            end = i + 1
            while end < len(entries) and entries[end].depth > depth:  # its expanded lines go with it
                end += 1
            del entries[i:end]
            changed = True
            continue
        child = by_id.get(entry.child_run_id or "")
        if child is not None and entry.summary != _placeholder_summary(child):
            entry.summary = _placeholder_summary(child)
            entry.is_error = child.status in ("error", "crashed")
            changed = True
        i += 1
    return changed


def drop_answered_calls(entries: list[Entry]) -> bool:
    """Remove the lines of model calls sent and not answered when they were loaded (a live run) whose
    answer (their ``llm_call``) has arrived since. Returns whether any was removed."""
    answered = {e.payload.get("call_id") for e in entries if e.kind == "llm_call"}
    kept = [e for e in entries if e.kind != "llm_call_started" or e.payload.get("call_id") not in answered]
    if len(kept) == len(entries):
        return False
    entries[:] = kept
    return True


def place_children(entries: list[Entry], children: list[RunRow], depth: int) -> list[str]:
    """Give every nested run an expandable line: its tool call, or a line placed by its start time.

    ``entries`` must be the whole timeline at ``depth``; returns the ids of the runs placed now.
    """
    referenced = {e.child_run_id for e in entries if e.child_run_id}
    stamps = [e.ts for e in entries]
    placed = []
    for child in children:
        if child.run_id in referenced:
            continue
        at = bisect.bisect_right(stamps, child.started or 0.0)
        seq = entries[at - 1].seq if at else -1
        run_id = child.parent_run_id or ""
        entry = Entry(
            run_id,
            seq,
            child.started or 0.0,
            "nested_run",
            child.name,
            Marker.NESTED,
            _placeholder_summary(child),
            {"child_run_id": child.run_id},
            child.status in ("error", "crashed"),
            depth=depth,
            child_run_id=child.run_id,
        )
        entries.insert(at, entry)
        stamps.insert(at, entry.ts)
        placed.append(child.run_id)
    return placed


def fetch_timeline(
    store: Store,
    run_id: str,
    *,
    after_seq: int = -1,
    limit: int | None = None,
    depth: int = 0,
    lean: bool = True,
) -> Timeline | None:
    """A run's timeline entries after ``after_seq`` (at most ``limit``), or None if there is no such run.

    With ``lean`` (the default) entries carry only what their line needs (``Entry.partial``); get the
    whole event with :func:`fetch_detail`. Nested runs are listed in ``children`` but not placed: call
    :func:`place_children` on the complete list of entries.
    """
    with store.connect() as con:
        run = _run_row(con, run_id)
        if run is None:
            return None
        entries, last, complete = _load_entries(con, run_id, after_seq, limit, depth, lean)
        children = _run_rows(
            con.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE parent_run_id = ? ORDER BY started_at", [run_id]
            )
        )
    return Timeline(run, entries, last, children, complete)


def resolve_blobs(con: duckdb.DuckDBPyConnection, value: Any) -> Any:
    """``value`` with every ``{"$blob": hash}`` replaced by the blob's data (from the ``blobs`` table).

    A blob the store does not have becomes ``"[missing blob <hash>]"``.
    """
    hashes: set[str] = set()

    def collect(v: Any) -> None:
        if isinstance(v, dict):
            if isinstance(v.get("$blob"), str) and len(v) == 1:
                hashes.add(v["$blob"])
            else:
                for x in v.values():
                    collect(x)
        elif isinstance(v, list):
            for x in v:
                collect(x)

    collect(value)
    found: dict[str, Any] = {}
    if hashes:
        for h, data in con.execute(
            "SELECT hash, CAST(data AS VARCHAR) FROM blobs WHERE list_contains(?, hash)", [sorted(hashes)]
        ).fetchall():
            try:
                found[h] = json.loads(data) if data is not None else None
            except ValueError:
                found[h] = data

    def replace(v: Any) -> Any:
        if isinstance(v, dict):
            if isinstance(v.get("$blob"), str) and len(v) == 1:
                return found.get(v["$blob"], f"[missing blob {v['$blob']}]")
            return {k: replace(x) for k, x in v.items()}
        if isinstance(v, list):
            return [replace(x) for x in v]
        return v

    return replace(value)


@dataclass
class EventDetail:
    """Everything about one event: its whole payload and, for an LLM call, the resolved request and price."""

    payload: dict[str, Any]
    request: dict[str, Any] | None = None
    cost_usd: float | None = None
    price_source: str | None = None


def _whole_request(
    con: duckdb.DuckDBPyConnection, run_id: str, seq: int, request: dict[str, Any]
) -> dict[str, Any]:
    """``request`` with every message the model was sent, when it was stored as a delta on an earlier
    call of the run (see :mod:`teamtape.store.requests`)."""
    if not isinstance(request, dict) or not isinstance(request.get("base"), dict):
        return request
    earlier = con.execute(
        "SELECT payload->>'$.call_id', CAST(payload->'$.request' AS VARCHAR) FROM events "
        "WHERE run_id = ? AND kind = 'llm_call' AND seq < ? ORDER BY seq",
        [run_id, seq],
    ).fetchall()
    calls = [
        (str(call_id), parsed)
        for call_id, text in earlier
        if isinstance(parsed := json.loads(text or "null"), dict)
    ]
    this_call = "\x00this call"  # a key no recorded call id can be
    messages = resolve_request_messages([*calls, (this_call, request)])[this_call]
    return {**{k: v for k, v in request.items() if k != "base"}, "messages": messages}


def fetch_detail(store: Store, run_id: str, seq: int) -> EventDetail | None:
    """The whole event ``seq`` of a run; an LLM call's request messages come resolved from blobs."""
    with store.connect() as con:
        row = con.execute(
            "SELECT kind, CAST(payload AS VARCHAR) FROM events WHERE run_id = ? AND seq = ? LIMIT 1",
            [run_id, seq],
        ).fetchone()
        if row is None:
            return None
        try:
            payload = json.loads(row[1]) if row[1] else {}
        except ValueError:
            payload = {"unreadable_payload": row[1]}
        if row[0] == "llm_call_started":  # a call with no answer yet: what it asked (recorded since 0.1.0)
            asked = payload.get("request")
            if not isinstance(asked, dict):
                return EventDetail(payload)
            return EventDetail(payload, resolve_blobs(con, _whole_request(con, run_id, seq, asked)))
        if row[0] != "llm_call":
            return EventDetail(payload)
        request = resolve_blobs(con, _whole_request(con, run_id, seq, payload.get("request") or {}))
        price = con.execute(
            "SELECT cost_usd, price_source FROM llm_calls WHERE run_id = ? AND seq = ?", [run_id, seq]
        ).fetchone()
    return EventDetail(payload, request, price[0] if price else None, price[1] if price else None)


@dataclass
class CostLine:
    """One bar of a cost chart."""

    key: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    unpriced: int
    no_usage: int = 0
    """Of ``unpriced``, the calls whose usage was not reported (a stream without ``include_usage``)."""


@dataclass
class CostBreakdown:
    """Where a run's money went (the run and all its nested runs)."""

    by_agent: list[CostLine]
    by_model: list[CostLine]
    runs: int


_COSTS_SQL = """
WITH RECURSIVE tree(run_id, depth) AS (
    SELECT ?::VARCHAR, 0
    UNION ALL
    SELECT r.run_id, t.depth + 1 FROM runs r JOIN tree t ON r.parent_run_id = t.run_id WHERE t.depth < 64
)
SELECT coalesce({key}, ?), count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       sum(cost_usd), count(*) FILTER (WHERE cost_usd IS NULL),
       count(*) FILTER (WHERE cost_usd IS NULL AND price_source = ?)
FROM llm_calls WHERE run_id IN (SELECT run_id FROM tree)
GROUP BY 1 ORDER BY sum(cost_usd) DESC NULLS LAST, 1
"""


def fetch_costs(store: Store, run_id: str) -> CostBreakdown:
    """Cost, calls and tokens by agent and by model over a run and its nested runs."""
    with store.connect() as con:
        out = []
        for key, missing in (("agent", NO_AGENT), ("model", "(unknown model)")):
            rows = con.execute(_COSTS_SQL.format(key=key), [run_id, missing, NO_USAGE]).fetchall()
            out.append(
                [CostLine(str(k), int(n), int(i), int(o), c, int(u), int(x)) for k, n, i, o, c, u, x in rows]
            )
        (runs,) = con.execute(  # type: ignore[misc]
            "WITH RECURSIVE tree(run_id, depth) AS (SELECT ?::VARCHAR, 0 UNION ALL SELECT r.run_id, t.depth + 1 "
            "FROM runs r JOIN tree t ON r.parent_run_id = t.run_id WHERE t.depth < 64) SELECT count(*) FROM tree",
            [run_id],
        ).fetchone()
    return CostBreakdown(out[0], out[1], int(runs))


def fetch_run(store: Store, run_id: str) -> RunRow | None:
    """One run's row, or None."""
    with store.connect() as con:
        return _run_row(con, run_id)
