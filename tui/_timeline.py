"""A run's events turned into timeline entries: one line each, with a marker (headless).

The timeline shows every event a user cares about in ``seq`` order. Each :class:`Entry` keeps its
full payload so the inspector can show everything without another query (except LLM request
messages, which are content-addressed blobs resolved on demand).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from teamtape.store import Kind

from ._format import fmt_cost, fmt_duration, fmt_tokens, one_line


class Marker(StrEnum):
    """What kind of line a timeline entry is; each has its own glyph and colour."""

    START = "start"
    TEXT = "text"
    TOOL_CALL = "call"
    TOOL = "tool"
    TOOL_RESULT = "result"
    HANDOFF = "handoff"
    MEMORY = "memory"
    SELECT = "select"
    THOUGHT = "thought"
    LLM = "llm"
    STREAM = "stream"
    NESTED = "nested"
    ERROR = "error"
    END = "end"
    OTHER = "event"


GLYPHS: dict[Marker, str] = {
    Marker.START: "▶ start",
    Marker.TEXT: "› text",
    Marker.TOOL_CALL: "⚙ call",
    Marker.TOOL: "⚒ tool",
    Marker.TOOL_RESULT: "↩ result",
    Marker.HANDOFF: "⇢ handoff",
    Marker.MEMORY: "⌕ memory",
    Marker.SELECT: "≡ select",
    Marker.THOUGHT: "… thought",
    Marker.LLM: "◆ llm",
    Marker.STREAM: "≋ stream",
    Marker.NESTED: "▸ nested",
    Marker.ERROR: "✗ error",
    Marker.END: "■ end",
    Marker.OTHER: "· event",
}

_MESSAGE_MARKERS = {
    "ToolCallRequestEvent": Marker.TOOL_CALL,
    "ToolCallExecutionEvent": Marker.TOOL_RESULT,
    "HandoffMessage": Marker.HANDOFF,
    "MemoryQueryEvent": Marker.MEMORY,
    "SelectSpeakerEvent": Marker.SELECT,
    "SelectorEvent": Marker.SELECT,
    "ThoughtEvent": Marker.THOUGHT,
}


@dataclass(slots=True)
class Entry:
    """One line of a run's timeline."""

    run_id: str
    seq: int
    ts: float
    kind: str
    agent: str | None
    marker: Marker
    summary: str
    payload: dict[str, Any] = field(repr=False)
    is_error: bool = False
    cost_usd: float | None = None
    depth: int = 0
    child_run_id: str | None = None
    expanded: bool = False
    partial: bool = False
    """True when ``payload`` leaves out bulky fields (see ``_data.fetch_detail`` for the whole event)."""

    @property
    def key(self) -> tuple[str, int, str]:
        """Unique within a timeline (nested-run placeholders share the seq of the event before them)."""
        return (
            self.run_id,
            self.seq,
            self.kind if self.kind != "nested_run" else f"nested_run:{self.child_run_id}",
        )


def _llm_summary(p: dict[str, Any], cost: float | None) -> str:
    usage = p.get("usage") or {}
    parts = [
        str(p.get("model") or "?"),
        # A count nobody reported (a failed call, a stream without usage) is unknown, not zero.
        f"{fmt_tokens(usage.get('input_tokens')) or '?'}→{fmt_tokens(usage.get('output_tokens')) or '?'} tok",
        fmt_duration(p.get("duration_ms")),
    ]
    if p.get("ttft_ms") is not None:
        parts.append(f"ttft {fmt_duration(p['ttft_ms'])}")
    if p.get("retries"):
        parts.append(f"{len(p['retries'])} retries" if len(p["retries"]) > 1 else "1 retry")
    if p.get("model") and not p.get("error"):  # a failed call's $0 says nothing: it says "failed"
        parts.append(fmt_cost(cost))
    if p.get("cached"):
        parts.append("cached")
    if p.get("error"):
        parts.append("failed")
        err = p["error"]
        parts.append(
            f"{err.get('type', 'error')}: {err.get('message', '')}" if isinstance(err, dict) else str(err)
        )
    return " · ".join(x for x in parts if x)


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        return f"{err.get('type') or 'Error'}: {err.get('message') or ''}"
    return str(err or "")


def make_entry(
    run_id: str,
    seq: int,
    ts: float,
    kind: str,
    agent: str | None,
    payload: dict[str, Any],
    cost: float | None = None,
) -> Entry | None:
    """The timeline entry for one event, or None for events the timeline does not show (blobs).

    ``cost`` is the priced cost of an ``llm_call`` (from the ``llm_calls`` projection).
    """
    p = payload
    marker, summary, is_error, child = Marker.OTHER, "", False, None
    if kind == Kind.MESSAGE:
        mtype = str(p.get("type") or "")
        marker = _MESSAGE_MARKERS.get(mtype, Marker.TEXT)
        text = p.get("text") if p.get("text") is not None else p.get("content")
        text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
        calls = p.get("content") if isinstance(p.get("content"), list) else None
        if calls and marker is Marker.TOOL_CALL:
            summary = "; ".join(
                f"{c.get('name')}({one_line(str(c.get('arguments', '')), 120)})"
                for c in calls
                if isinstance(c, dict)
            ) or one_line(text)
        elif calls and marker is Marker.MEMORY:
            summary = "; ".join(
                one_line(str(c.get("content", "")), 120) for c in calls if isinstance(c, dict)
            )
        elif calls and marker is Marker.TOOL_RESULT:
            summary = "; ".join(
                f"{c.get('name') or c.get('call_id')} → {one_line(str(c.get('content', '')), 200)}"
                for c in calls
                if isinstance(c, dict)
            ) or one_line(text)
        elif marker is Marker.HANDOFF:
            summary = f"{p.get('source') or agent} → {p.get('target') or '?'}: {one_line(text)}"
        elif marker is Marker.TEXT and mtype and mtype != "TextMessage":
            summary = f"[{mtype}] {one_line(text)}"
        else:
            summary = one_line(text)
        agent = p.get("source") or agent
        if marker is Marker.TOOL_RESULT and isinstance(p.get("content"), list):
            is_error = any(isinstance(r, dict) and r.get("is_error") for r in p["content"])
    elif kind == Kind.LLM_CALL:
        marker, summary, is_error = Marker.LLM, _llm_summary(p, cost), bool(p.get("error"))
    elif kind == Kind.LLM_CALL_STARTED:  # listed only while its call has no answer (see _data)
        marker, summary = Marker.LLM, f"{p.get('model') or '(unknown model)'} · sent, no answer yet"
    elif kind == Kind.TOOL_CALL:
        child = p.get("child_run_id")
        marker = Marker.NESTED if child else (Marker.ERROR if p.get("is_error") else Marker.TOOL)
        args = json.dumps(p.get("arguments"), ensure_ascii=False, default=str)
        summary = (
            f"{p.get('tool')}({one_line(args, 120)}) → {one_line(str(p.get('result') or ''), 200)}"
            f" · {fmt_duration(p.get('duration_ms'))}"
        )
        is_error = bool(p.get("is_error"))
    elif kind == Kind.MESSAGE_CHUNKS:
        offsets = p.get("offsets_ms") or []
        span = offsets[-1] if offsets else 0
        marker = Marker.STREAM
        summary = (
            f"{p.get('n', len(offsets))} chunks over {fmt_duration(span)}: {one_line(p.get('text'), 200)}"
        )
    elif kind == Kind.MEMORY_QUERY:
        marker = Marker.MEMORY
        query = f": {one_line(str(p['query']), 120)}" if p.get("query") else ""
        summary = f"{p.get('memory')}{query} → {p.get('n_results', '?')} result(s) · {fmt_duration(p.get('duration_ms'))}"
    elif kind == Kind.SPEAKER_SELECTION:
        marker = Marker.SELECT
        summary = f"selected {', '.join(map(str, p.get('selected') or []))}"
        if p.get("candidates"):
            summary += f" from {', '.join(map(str, p['candidates']))}"
        if p.get("decided_by") and p["decided_by"] != "model":  # "from a, b": the model chose
            summary += f" by {p['decided_by']}"
        if isinstance(p.get("error"), dict):
            marker, is_error = Marker.ERROR, True
            summary = f"could not pick the next speaker: {_error_text(p['error'])}"
    elif kind == Kind.RUN_STARTED:
        marker = Marker.START
        summary = f"{p.get('name') or p.get('team_type') or 'run'} · {one_line(p.get('task'), 300)}"
    elif kind == Kind.RUN_ENDED:
        status = p.get("status") or "ok"
        is_error = status == "error"
        marker = Marker.ERROR if is_error else Marker.END
        detail = _error_text(p.get("error")) if p.get("error") else (p.get("stop_reason") or "")
        parts = (status, fmt_duration(p.get("duration_ms")), one_line(detail, 300))
        summary = " · ".join(part for part in parts if part)
    elif kind == Kind.RUN_CRASHED:
        marker, is_error = Marker.ERROR, True
        summary = f"crashed: {p.get('reason') or 'the recording process died'}"
    elif kind == Kind.AGENT_TURN:
        if not p.get("error"):
            return None
        marker, is_error, summary = Marker.ERROR, True, _error_text(p.get("error"))
    elif kind == Kind.RECORDER_WARNING:
        summary = f"recorder: {one_line(p.get('message'))}"
    elif kind == Kind.BLOB:
        return None
    else:
        summary = one_line(json.dumps(p, ensure_ascii=False, default=str), 200)
    return Entry(run_id, seq, ts, kind, agent, marker, summary, p, is_error, cost, child_run_id=child)


def agents_in_order(entries: list[Entry]) -> list[str]:
    """Agent names in order of first appearance (the order their colours are given out)."""
    seen: dict[str, None] = {}
    for e in entries:
        if e.agent and e.agent not in seen:
            seen[e.agent] = None
    return list(seen)
