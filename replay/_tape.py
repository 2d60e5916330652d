"""A recording in memory: the runs of one session (with their nested runs), their events and blobs.

A :class:`Tape` is what every replay reads, whether it comes from a store (:meth:`Tape.from_store`)
or from a tape file (:func:`teamtape.replay.read_tape`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teamtape.store import Event, Kind, RunNotFoundError, Store
from teamtape.store.spill import SPILLED, full_payload, spilled_blob

from ._errors import ReplayError


@dataclass
class TapeRun:
    """One recorded run and its events, in ``seq`` order."""

    run_id: str
    events: list[Event]

    @property
    def started(self) -> dict[str, Any]:
        """The ``run_started`` payload ({} when the run's start was not recorded)."""
        return next((e.payload for e in self.events if e.kind == Kind.RUN_STARTED), {})

    @property
    def ended(self) -> dict[str, Any] | None:
        return next((e.payload for e in reversed(self.events) if e.kind == Kind.RUN_ENDED), None)

    @property
    def parent_run_id(self) -> str | None:
        return self.started.get("parent_run_id")

    @property
    def session_id(self) -> str | None:
        return self.started.get("session_id")

    @property
    def status(self) -> str:
        if any(e.kind == Kind.RUN_CRASHED for e in self.events):
            return "crashed"
        ended = self.ended
        return str(ended.get("status") or "ok") if ended is not None else "running"

    @property
    def start_ts(self) -> float:
        return self.events[0].ts if self.events else 0.0

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


@dataclass
class Tape:
    """The runs of one recorded session, nested runs included, and the blobs they reference.

    Attributes:
        runs: every run, in start order (top-level runs and nested runs interleaved).
        blobs: ``hash -> {"media_type", "data"}``.
        root_run_id: the run the user named (replays start from its session's first run).
        origin: where the tape came from, for messages (``store /path`` or a file name).
    """

    runs: list[TapeRun]
    blobs: dict[str, dict[str, Any]]
    root_run_id: str
    origin: str = ""
    _by_id: dict[str, TapeRun] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {r.run_id: r for r in self.runs}

    def run(self, run_id: str) -> TapeRun:
        return self._by_id[run_id]

    def has_run(self, run_id: str) -> bool:
        return run_id in self._by_id

    @property
    def top_level(self) -> list[TapeRun]:
        """The session's top-level runs, in order (what ``teamtape replay`` re-runs)."""
        return [r for r in self.runs if not r.parent_run_id or r.parent_run_id not in self._by_id]

    def blob_data(self, digest: str) -> Any:
        try:
            return self.blobs[digest]["data"]
        except KeyError:
            raise ReplayError(
                f"The recording ({self.origin}) references content {digest} that it does not contain; "
                "the store or tape is incomplete. Re-export the tape from the store that recorded it."
            ) from None

    def require_content(self) -> None:
        """Raise :class:`ReplayError` when the session was recorded without content (``--no-content``,
        ``capture_content=False``): it keeps no prompts or answers to serve. Said up front, rather than
        as a replay that asks for what the tape does not hold, as if the team had changed."""
        for call in self.events("llm_call"):
            request = call.payload.get("request") or {}
            if "n_messages" in request and not request.get("messages"):
                raise ReplayError(
                    f"{self.origin} was recorded without content (--no-content, capture_content=False): "
                    "it keeps no prompts or answers to replay. Record the team with content to replay it."
                )

    def events(self, kind: str) -> Iterator[Event]:
        """Events of one kind across all runs, in time order."""
        found = [e for r in self.runs for e in r.events if e.kind == kind]
        found.sort(key=lambda e: (e.payload.get("started_ts") or e.ts, e.run_id, e.seq))
        return iter(found)

    @classmethod
    def from_store(cls, store: Store, ref: str) -> Tape:
        """Load the session of run ``ref`` (id, prefix or ``last``) with its nested runs and blobs.

        Example:
            >>> from teamtape.store import open_store
            >>> store = open_store("/tmp/doc-tape-store", create=True)
            >>> Tape.from_store(store, "last")
            Traceback (most recent call last):
            ...
            teamtape.store.errors.RunNotFoundError: The store has no runs yet. ...
        """
        from teamtape.store import resolve_run_ref

        with store.connect() as con:
            run_id = resolve_run_ref(con, ref)
            root = run_id
            for _ in range(64):
                row = con.execute("SELECT parent_run_id FROM runs WHERE run_id = ?", [root]).fetchone()
                if not row or not row[0]:
                    break
                root = str(row[0])
            session = con.execute("SELECT session_id FROM runs WHERE run_id = ?", [root]).fetchone()
            if session and session[0]:
                ids = [
                    r[0]
                    for r in con.execute(
                        "SELECT run_id FROM runs WHERE session_id = ? AND parent_run_id IS NULL ORDER BY started_at, run_id",
                        [session[0]],
                    ).fetchall()
                ]
            else:
                ids = [root]
            tape = _load(con, store.root, ids, run_id, f"run {run_id} in {store.root}")
        if not tape.has_run(run_id):
            raise RunNotFoundError(f"Run {run_id} has no events in {store.root}.")
        return tape

    @classmethod
    def from_runs(cls, store: Store, run_ids: list[str], root_run_id: str | None = None) -> Tape:
        """Load the given top-level runs (in that order), their nested runs and blobs."""
        with store.connect() as con:
            top = (
                [
                    r[0]
                    for r in con.execute(
                        f"SELECT run_id FROM runs WHERE run_id IN ({','.join('?' * len(run_ids))}) AND parent_run_id IS NULL "
                        "ORDER BY started_at, run_id",
                        run_ids,
                    ).fetchall()
                ]
                if run_ids
                else []
            )
            root = root_run_id or (top[0] if top else "")
            origin = f"runs {', '.join(top[:3])}{'...' if len(top) > 3 else ''} in {store.root}"
            return _load(con, store.root, top, root, origin)


def _load(con: Any, store_root: Path, top_level: list[str], root: str, origin: str) -> Tape:
    ids = list(top_level)
    frontier = list(ids)
    while frontier:
        placeholders = ",".join("?" * len(frontier))
        children = [
            r[0]
            for r in con.execute(
                f"SELECT run_id FROM runs WHERE parent_run_id IN ({placeholders}) ORDER BY started_at",
                frontier,
            ).fetchall()
        ]
        ids.extend(c for c in children if c not in ids)
        frontier = children
    events = _load_events(con, store_root, ids)
    runs = [TapeRun(rid, events.get(rid, [])) for rid in ids]
    runs.sort(key=lambda r: (r.start_ts, r.run_id))
    hashes = sorted(blob_refs(e.payload for r in runs for e in r.events))
    return Tape(runs=runs, blobs=_load_blobs(con, store_root, hashes), root_run_id=root, origin=origin)


def _load_events(con: Any, store_root: Path, run_ids: list[str]) -> dict[str, list[Event]]:
    """The events of these runs, whole (a large event's payload read back from ``spill/``)."""
    out: dict[str, list[Event]] = {}
    if not run_ids:
        return out
    placeholders = ",".join("?" * len(run_ids))
    rows = con.execute(
        "SELECT event_id, run_id, seq, epoch_us(ts) / 1e6, kind, agent, payload, schema_version "
        f"FROM events WHERE run_id IN ({placeholders}) ORDER BY run_id, seq",
        run_ids,
    ).fetchall()
    for event_id, run_id, seq, ts, kind, agent, payload, version in rows:
        data = json.loads(payload) if isinstance(payload, str) else (payload or {})
        if SPILLED in data:
            data = full_payload(store_root, kind, event_id, data)
        out.setdefault(run_id, []).append(
            Event(event_id, run_id, int(seq), float(ts), kind, agent, data, int(version))
        )
    return out


def _load_blobs(con: Any, store_root: Path, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """These blobs' media types and data, whole (a large blob's data read back from ``spill/``)."""
    blobs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(hashes), 500):
        part = hashes[start : start + 500]
        placeholders = ",".join("?" * len(part))
        for digest, media_type, data in con.execute(
            f"SELECT hash, media_type, data FROM blobs WHERE hash IN ({placeholders})", part
        ).fetchall():
            whole = spilled_blob(store_root, digest, data if isinstance(data, str) else None)
            if whole is not None:
                blobs[digest] = {"media_type": whole.get("media_type", media_type), "data": whole.get("data")}
            else:
                blobs[digest] = {
                    "media_type": media_type,
                    "data": json.loads(data) if isinstance(data, str) else data,
                }
    return blobs


def blob_refs(values: Any) -> set[str]:
    """Every ``{"$blob": hash}`` reference inside the given JSON values."""
    found: set[str] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            ref = value.get("$blob")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found
