"""Arranging runs for the runs table: sorted, sessions grouped, nested runs under their parent (headless)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._data import RunRow
from ._format import fmt_duration
from ._timeline import Entry

SORT_KEYS: dict[str, Callable[[RunRow], Any]] = {
    "started": lambda r: r.started,
    "run": lambda r: r.title.lower(),
    "status": lambda r: r.status,
    "stop": lambda r: (r.stop_reason or r.error or "").lower(),
    "messages": lambda r: r.messages,
    "llm": lambda r: r.llm_calls,
    "tokens": lambda r: r.tokens,
    "cost": lambda r: r.cost_usd,
    "duration": lambda r: live_duration_ms(r),
}
"""Sortable columns and the value each sorts by (None always sorts last)."""


def live_duration_ms(run: RunRow, now: float | None = None) -> float | None:
    """A finished run's duration; for a running run, how long it has been running."""
    if run.duration_ms is not None:
        return run.duration_ms
    if run.status == "running" and run.started is not None:
        return max(0.0, ((now or time.time()) - run.started) * 1000)
    if run.ended is not None and run.started is not None:
        return (run.ended - run.started) * 1000
    return None


QUIET_AFTER_S = 10.0
"""A running run with no event for this long says so (a model call may hang, or the process be stuck)."""


def quiet_note(entries: Sequence[Entry], now: float) -> str:
    """For a running run: how long nothing was recorded, and the model call it waits on, if any.

    Example: ``no event for 3m50s · waiting on hang_a → gpt-4o-mini``; empty while events come.
    """
    if not entries:
        return ""
    quiet_s = now - max(e.ts for e in entries)
    if quiet_s < QUIET_AFTER_S:
        return ""
    note = f"  no event for {fmt_duration(quiet_s * 1000)}"
    waiting = [e for e in entries if e.kind == "llm_call_started"]  # only unanswered ones are listed
    if waiting:
        call = waiting[-1]
        note += f" · waiting on {call.agent or 'a model call'} → {call.payload.get('model') or '?'}"
    return note


@dataclass(slots=True)
class SessionLine:
    """A header line over the runs of one session (successive ``run()`` calls on one team)."""

    session_id: str
    runs: int
    cost_usd: float | None
    unpriced_calls: int = 0  # model calls with no known price, nested runs' included (the cost's "≥")

    @property
    def key(self) -> str:
        return f"session:{self.session_id}"


@dataclass(slots=True)
class RunLine:
    """A run in the table, ``depth`` levels deep (sessions and parents above it)."""

    run: RunRow
    depth: int
    nested: bool

    @property
    def key(self) -> str:
        return self.run.run_id


Line = SessionLine | RunLine


def _sorted(rows: list[RunRow], column: str, reverse: bool) -> list[RunRow]:
    key = SORT_KEYS[column]
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    present.sort(key=lambda r: (key(r), r.run_id), reverse=reverse)
    return present + missing


def arrange(rows: list[RunRow], column: str = "started", reverse: bool = True) -> list[Line]:
    """The lines of the runs table.

    Top-level runs are sorted by ``column``; a session with several top-level runs becomes a header
    placed where its highest-ranked run falls, followed by its runs in the order they started; nested
    runs follow their parent, oldest first. A run whose parent is not in ``rows`` (filtered out)
    stands on its own.
    """
    ids = {r.run_id for r in rows}
    children: dict[str, list[RunRow]] = {}
    roots: list[RunRow] = []
    for r in rows:
        if r.parent_run_id and r.parent_run_id in ids and r.parent_run_id != r.run_id:
            children.setdefault(r.parent_run_id, []).append(r)
        else:
            roots.append(r)
    for kids in children.values():
        kids.sort(key=lambda r: (r.started or 0.0, r.run_id))

    sessions: dict[str, list[RunRow]] = {}
    for r in roots:
        if r.session_id:
            sessions.setdefault(r.session_id, []).append(r)

    lines: list[Line] = []
    done: set[str] = set()

    def emit(run: RunRow, depth: int) -> None:
        lines.append(RunLine(run, depth, depth > 0 and run.parent_run_id in ids))
        if len(lines) > 4 * len(rows) + 4:  # a cycle in parent ids: stop rather than loop
            return
        for kid in children.get(run.run_id, ()):
            emit(kid, depth + 1)

    for root in _sorted(roots, column, reverse):
        members = sessions.get(root.session_id or "", [])
        if len(members) > 1:
            if root.session_id in done:
                continue
            done.add(root.session_id or "")
            costs = [m.cost_usd for m in members if m.cost_usd is not None]
            unpriced = sum(m.unpriced_calls or 0 for m in members)
            lines.append(
                SessionLine(root.session_id or "", len(members), sum(costs) if costs else None, unpriced)
            )
            for member in sorted(members, key=lambda r: (r.started or 0.0, r.run_id)):
                emit(member, 1)
        else:
            emit(root, 0)
    return lines
