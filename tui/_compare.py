"""Comparing two runs' timelines: where they diverge and a side-by-side alignment (headless).

The steps compared are the ones ``teamtape diff`` and ``teamtape replay`` compare: every message a
user saw (in the form :func:`teamtape.replay.message_views` gives it: no ids, timestamps,
token counts or rendered text) and how the run ended. LLM calls, tool executions and timings are
left out: a replay serves calls from the recording in a different order and at other speeds, and
whatever they changed shows in the messages. So the TUI and the CLI agree on whether two runs differ.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from teamtape.store import Event

from ._timeline import Entry

STEP_KINDS = frozenset({"message", "run_ended", "run_crashed"})
"""The timeline entries that count as steps of a comparison."""


def signatures(entries: list[Entry]) -> list[tuple[str, str]]:
    """What must be equal for two steps to be "the same", for each step of ``entries``."""
    from teamtape.replay import ending, message_views  # the one definition of "the same"

    messages = [e for e in entries if e.kind == "message"]
    views = message_views([Event("", e.run_id, e.seq, e.ts, e.kind, e.agent, e.payload) for e in messages])
    by_key = {e.key: v for e, v in zip(messages, views)}
    out = []
    for e in entries:
        if e.kind == "message":
            out.append(
                ("message", json.dumps(by_key[e.key], sort_keys=True, ensure_ascii=False, default=str))
            )
        else:
            out.append(("ended", "crashed" if e.kind == "run_crashed" else ending(e.payload)))
    return out


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
    """Align the steps (:data:`STEP_KINDS`) of two timelines.

    Example:
        >>> from teamtape.tui._timeline import make_entry
        >>> m = lambda s, t: make_entry("r", s, 0.0, "message", "bot", {"type": "TextMessage", "content": t})
        >>> c = compare([m(0, "hi"), m(1, "bye")], [m(0, "hi"), m(1, "ciao")])
        >>> c.divergence, [r.tag for r in c.rows]
        (1, ['=', '~'])
    """
    a = [e for e in a if e.kind in STEP_KINDS]
    b = [e for e in b if e.kind in STEP_KINDS]
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
