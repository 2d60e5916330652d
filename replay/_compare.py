"""Comparing runs message by message, without ids, timestamps or token counts.

Two runs are the same when their messages (what ``run_stream`` showed a user: type, source,
content, handoff target...) are the same, tool-call ids compared by order of appearance, and they
ended the same way. :func:`compare_messages` finds the first message where they part and renders a
unified diff from there.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from teamtape.store import Event, Store

from ._tape import TapeRun

IGNORED_FIELDS = frozenset({"id", "created_at", "models_usage", "text", "full_message_id", "metadata"})
"""Message fields that differ between two runs saying the same thing."""


class _IdAliases:
    """Tool-call ids replaced by ``#1``, ``#2``... in order of first appearance in a run."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: Any) -> str:
        return self.seen.setdefault(str(value), f"#{len(self.seen) + 1}")


def _clean(value: Any, alias: _IdAliases) -> Any:
    if isinstance(value, dict):
        is_call = "arguments" in value and "name" in value and "id" in value
        out = {}
        for key, item in value.items():
            if (is_call and key == "id") or key == "call_id":
                out[key] = alias(item)
            elif is_call and key == "arguments" and isinstance(item, str):
                try:
                    out[key] = json.loads(item)
                except ValueError:
                    out[key] = item
            elif key in ("created_at", "id"):
                continue
            else:
                out[key] = _clean(item, alias)
        return out
    if isinstance(value, list):
        return [_clean(v, alias) for v in value]
    return value


def message_views(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The comparable form of a run's ``message`` events, in order."""
    alias = _IdAliases()
    out = []
    for event in events:
        if event.kind != "message":
            continue
        view = {k: v for k, v in event.payload.items() if k not in IGNORED_FIELDS}
        out.append(_clean(view, alias))
    return out


def render_view(view: dict[str, Any]) -> list[str]:
    """One message as text lines: a header line, then its content."""
    header = f"{view.get('source', '?')} {view.get('type', '?')}"
    if view.get("target"):
        header += f" -> {view['target']}"
    content = view.get("content")
    body = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, sort_keys=True)
    extra = {k: v for k, v in view.items() if k not in ("source", "type", "target", "content")}
    lines = [header + ":"] + ["  " + line for line in (body.splitlines() or [""])]
    if extra:
        lines.append("  " + json.dumps(extra, ensure_ascii=False, sort_keys=True))
    return lines


@dataclass
class MessageDiff:
    """How two runs' messages compare.

    Attributes:
        identical: same messages and same ending.
        first_divergence: 1-based index of the first message that differs (None when identical
            or when only the ending differs).
        diff: a unified diff of the messages from just before the divergence on.
    """

    identical: bool
    first_divergence: int | None
    diff: str
    messages_a: int
    messages_b: int


def compare_messages(
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    label_a: str,
    label_b: str,
    ending_a: str | None = None,
    ending_b: str | None = None,
) -> MessageDiff:
    """Compare two runs' message views (and optionally how each ended)."""
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    if first is None and len(a) != len(b):
        first = min(len(a), len(b))
    lines: list[str] = []
    if first is not None:
        start = max(0, first - 1)
        left = [
            f"[{i + 1}] " + s if j == 0 else s
            for i, v in enumerate(a[start:], start)
            for j, s in enumerate(render_view(v))
        ]
        right = [
            f"[{i + 1}] " + s if j == 0 else s
            for i, v in enumerate(b[start:], start)
            for j, s in enumerate(render_view(v))
        ]
        lines.extend(difflib.unified_diff(left, right, fromfile=label_a, tofile=label_b, lineterm="", n=3))
    if ending_a != ending_b:
        lines.append(f"ended: {ending_a} ({label_a})  vs  {ending_b} ({label_b})")
    identical = first is None and ending_a == ending_b
    return MessageDiff(identical, None if first is None else first + 1, "\n".join(lines), len(a), len(b))


def ending(run_ended: dict[str, Any] | None, status: str | None = None) -> str:
    """How a run ended, as compared: its status and stop reason."""
    if run_ended is None:
        return status or "running"
    reason = run_ended.get("stop_reason")
    return f"{run_ended.get('status', 'ok')}" + (f" ({reason})" if reason else "")


def diff_runs(store: Store, run_a: str, run_b: str) -> MessageDiff:
    """Where two runs diverge first, and a message-level diff after that.

    Example:
        >>> from teamtape.store import open_store
        >>> store = open_store("/tmp/doc-diff", create=True)
        >>> diff_runs(store, "last", "last")
        Traceback (most recent call last):
        ...
        teamtape.store.errors.RunNotFoundError: The store has no runs yet. ...
    """
    a, b = store.resolve_run(run_a), store.resolve_run(run_b)
    events_a, events_b = store.events(a), store.events(b)

    def ended(events: list[Event]) -> str:
        if any(e.kind == "run_crashed" for e in events):
            return "crashed"
        return ending(next((e.payload for e in reversed(events) if e.kind == "run_ended"), None))

    return compare_messages(
        message_views(events_a),
        message_views(events_b),
        f"run {a}",
        f"run {b}",
        ended(events_a),
        ended(events_b),
    )


@dataclass
class RunComparison:
    """One recorded top-level run next to its replay."""

    original: str
    replay: str | None
    diff: MessageDiff
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "replay": self.replay,
            "identical": self.diff.identical,
            "first_divergence": self.diff.first_divergence,
            "messages": [self.diff.messages_a, self.diff.messages_b],
            "diff": self.diff.diff,
            "error": self.error,
        }


def compare_run_lists(
    originals: Sequence[TapeRun],
    replays: Sequence[TapeRun],
    kind: str = "replay",
    errors: dict[str, str] | None = None,
) -> list[RunComparison]:
    """Compare recorded top-level runs with their replays, pairwise in order."""
    errors = errors or {}
    out = []
    for i, original in enumerate(originals):
        replay = replays[i] if i < len(replays) else None
        diff = compare_messages(
            message_views(original.events),
            message_views(replay.events if replay else []),
            f"recorded run {original.run_id}",
            f"{kind} {replay.run_id if replay else '(none)'}",
            ending(original.ended, original.status),
            ending(replay.ended, replay.status) if replay else "not run",
        )
        key = replay.run_id if replay else original.run_id
        out.append(RunComparison(original.run_id, replay.run_id if replay else None, diff, errors.get(key)))
    for extra in replays[len(originals) :]:
        diff = compare_messages(
            [],
            message_views(extra.events),
            "the recording",
            f"{kind} {extra.run_id}",
            "not run",
            ending(extra.ended, extra.status),
        )
        out.append(RunComparison("(none)", extra.run_id, diff, errors.get(extra.run_id)))
    return out
