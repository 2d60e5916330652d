"""Comparing two runs' timelines: where they diverge and a side-by-side alignment (headless).

Entries are compared by what the team did, not by when or how fast: a message exactly as
``teamtape diff`` / ``teamtape replay`` compare it (:func:`teamtape.replay._compare.message_views`:
no ids, timestamps or token counts), an LLM call by its model and response, a tool call by tool,
arguments and result. Timings, costs and ids are ignored, so a faithful replay compares equal to its
recording, and the TUI and the CLI agree on whether two runs differ.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from teamtape.store import Event

from ._timeline import Entry


def _dump(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)


def _without_ids(value: Any) -> Any:
    """A response's tool calls without their ids (a re-executed run gets new ones)."""
    if isinstance(value, list):
        return [{k: v for k, v in x.items() if k != "id"} if isinstance(x, dict) else x for x in value]
    return value


def signature(entry: Entry, message_view: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """What must be equal for two entries to count as "the same step".

    ``message_view`` is the comparable form of a message entry (see :func:`signatures`).
    """
    p = entry.payload
    kind = entry.kind
    if kind == "message":
        if message_view is not None:
            return (kind, _dump(message_view))
        return (kind, p.get("type"), p.get("source") or entry.agent, p.get("text"), p.get("target"))
    if kind == "llm_call":
        response = p.get("response") or {}
        return (
            kind,
            entry.agent,
            p.get("model"),
            _dump(_without_ids(response.get("content"))),
            _dump(p.get("error")),
        )
    if kind == "tool_call":
        return (
            kind,
            entry.agent,
            p.get("tool"),
            _dump(p.get("arguments")),
            p.get("result"),
            bool(p.get("is_error")),
        )
    if kind == "run_started":
        return (kind, p.get("task"))
    if kind == "run_ended":
        err = p.get("error") or {}
        return (
            kind,
            p.get("status"),
            p.get("stop_reason"),
            err.get("type") if isinstance(err, dict) else err,
        )
    if kind == "message_chunks":
        return (kind, entry.agent, p.get("text"))
    if kind == "speaker_selection":
        return (kind, _dump(p.get("selected")))
    if kind == "memory_query":
        return (kind, entry.agent, p.get("memory"), p.get("query"), _dump(p.get("results")))
    return (kind, entry.agent, entry.summary)


def signatures(entries: list[Entry]) -> list[tuple[Any, ...]]:
    """:func:`signature` of every entry, messages in the form the replay diff compares them."""
    from teamtape.replay._compare import message_views  # the one definition of "the same message"

    messages = [e for e in entries if e.kind == "message"]
    views = message_views([Event("", e.run_id, e.seq, e.ts, e.kind, e.agent, e.payload) for e in messages])
    by_key = {e.key: v for e, v in zip(messages, views)}
    return [signature(e, by_key.get(e.key)) for e in entries]


@dataclass(slots=True)
class DiffRow:
    """One aligned line: ``tag`` is ``=`` same, ``~`` changed, ``-`` only in A, ``+`` only in B."""

    tag: str
    left: Entry | None
    right: Entry | None


@dataclass
class Comparison:
    """The alignment of run A against run B."""

    rows: list[DiffRow]
    divergence: int | None
    """Index into ``rows`` of the first difference; None when the runs did the same things."""

    @property
    def identical(self) -> bool:
        return self.divergence is None

    @property
    def changes(self) -> int:
        return sum(1 for r in self.rows if r.tag != "=")


def compare(a: list[Entry], b: list[Entry]) -> Comparison:
    """Align two timelines.

    Example:
        >>> from teamtape.tui._timeline import make_entry
        >>> m = lambda s, t: make_entry("r", s, 0.0, "message", "bot", {"type": "TextMessage", "content": t})
        >>> c = compare([m(0, "hi"), m(1, "bye")], [m(0, "hi"), m(1, "ciao")])
        >>> c.divergence, [r.tag for r in c.rows]
        (1, ['=', '~'])
    """
    sa, sb = signatures(a), signatures(b)
    matcher = difflib.SequenceMatcher(None, sa, sb, autojunk=False)
    rows: list[DiffRow] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(DiffRow("=", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2)))
        elif op == "replace":
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                left = a[i1 + k] if i1 + k < i2 else None
                right = b[j1 + k] if j1 + k < j2 else None
                rows.append(DiffRow("~" if left and right else ("-" if left else "+"), left, right))
        elif op == "delete":
            rows.extend(DiffRow("-", a[i], None) for i in range(i1, i2))
        else:
            rows.extend(DiffRow("+", None, b[j]) for j in range(j1, j2))
    divergence = next((i for i, r in enumerate(rows) if r.tag != "="), None)
    return Comparison(rows, divergence)
