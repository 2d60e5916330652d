"""Matching live model requests to recorded ones: named matcher functions, the index, the diffs.

A matcher is a plain function ``(live, recorded) -> bool`` over two :class:`NormalizedRequest`.
With the default matchers, lookup is a dictionary hit on the request fingerprint; with any other
list, recorded calls are scanned in order. Recorded calls are served once each, in order, preferring
the calls of the agent that asks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._normalize import MessageKey, NormalizedRequest

Matcher = Callable[[NormalizedRequest, NormalizedRequest], bool]


def match_model(live: NormalizedRequest, recorded: NormalizedRequest) -> bool:
    """Same model name."""
    return live.model == recorded.model


def match_messages(live: NormalizedRequest, recorded: NormalizedRequest) -> bool:
    """Same messages, ignoring volatile ids and timestamps (tool-call ids compared by position)."""
    return live.messages_digest == recorded.messages_digest


def match_tools(live: NormalizedRequest, recorded: NormalizedRequest) -> bool:
    """Same tool schemas offered, in the same order."""
    return live.tools_digest == recorded.tools_digest


def match_tool_choice(live: NormalizedRequest, recorded: NormalizedRequest) -> bool:
    """Same ``tool_choice``."""
    return live.tool_choice == recorded.tool_choice


def match_json_output(live: NormalizedRequest, recorded: NormalizedRequest) -> bool:
    """Same JSON mode / structured-output schema."""
    return live.json_output == recorded.json_output


def match_agent(live: NormalizedRequest, recorded: NormalizedRequest) -> bool:
    """Made by the same agent (not a default matcher: calls of the asking agent are preferred anyway)."""
    return live.agent == recorded.agent


DEFAULT_MATCHERS: tuple[Matcher, ...] = (
    match_model,
    match_messages,
    match_tools,
    match_tool_choice,
    match_json_output,
)
"""What the fingerprint covers."""

PART_NAMES: dict[Matcher, str] = {
    match_model: "model",
    match_messages: "messages",
    match_tools: "tools",
    match_tool_choice: "tool_choice",
    match_json_output: "json_output",
}


@dataclass
class RecordedCall:
    """One recorded model call, ready to be matched and served."""

    index: int
    run_id: str
    agent: str | None
    agent_index: int
    payload: dict[str, Any]
    request: NormalizedRequest
    used: bool = False

    def describe(self) -> str:
        return f"call {self.agent_index} of {self.agent or 'unknown agent'} in run {self.run_id}"


class CallBook:
    """The recorded calls of a tape, indexed for matching."""

    def __init__(self, calls: Sequence[RecordedCall], matchers: Sequence[Matcher] = DEFAULT_MATCHERS) -> None:
        self.calls = list(calls)
        self.matchers = tuple(matchers)
        self._fast = set(self.matchers) == set(DEFAULT_MATCHERS)
        self._by_fp: dict[str, list[RecordedCall]] = {}
        if self._fast:
            for call in self.calls:
                self._by_fp.setdefault(call.request.fingerprint, []).append(call)

    def take(self, live: NormalizedRequest) -> RecordedCall | None:
        """The first unused recorded call matching ``live`` (the asking agent's first), marked used."""
        if self._fast:
            candidates = self._by_fp.get(live.fingerprint, ())
        else:
            candidates = [c for c in self.calls if all(m(live, c.request) for m in self.matchers)]
        fallback = None
        for call in candidates:
            if call.used:
                continue
            if call.agent == live.agent or live.agent is None:
                call.used = True
                return call
            fallback = fallback or call
        if fallback is not None:
            fallback.used = True
        return fallback

    def next_of(self, agent: str | None) -> RecordedCall | None:
        """The asking agent's next unused call in recorded order, whatever it asked (forks)."""
        for call in self.calls:
            if not call.used and (agent is None or call.agent == agent):
                call.used = True
                return call
        return None

    def closest(self, live: NormalizedRequest, n: int = 3) -> list[RecordedCall]:
        """The recorded calls most like ``live``: same agent, most parts equal, longest common prefix."""
        pool = [c for c in self.calls if not c.used] or self.calls

        def score(call: RecordedCall) -> tuple[int, int, int, int]:
            parts = sum(1 for m in DEFAULT_MATCHERS if m(live, call.request))
            prefix = _common_prefix(live.messages, call.request.messages)
            return (int(call.agent == live.agent), parts, prefix, -call.index)

        return sorted(pool, key=score, reverse=True)[:n]

    @property
    def unused(self) -> list[RecordedCall]:
        return [c for c in self.calls if not c.used]


def _common_prefix(a: Sequence[MessageKey], b: Sequence[MessageKey]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x.digest != y.digest:
            break
        n += 1
    return n


def differing_parts(live: NormalizedRequest, recorded: NormalizedRequest) -> list[str]:
    """Names of what differs: ``model``, ``tools``, ``system prompt``, ``message 3``..."""
    out = [name for m, name in PART_NAMES.items() if m is not match_messages and not m(live, recorded)]
    if not match_messages(live, recorded):
        a, b = live.message_forms(), recorded.message_forms()
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                is_system = (x or y or {}).get("type") == "SystemMessage" and i == 0
                out.append("system prompt" if is_system else f"message {i + 1}")
        if len(a) != len(b):
            out.append(f"{len(a)} messages instead of {len(b)}")
    return out


def _text_lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines() or [""]
    return json.dumps(value, ensure_ascii=False, sort_keys=True).splitlines()


def render_request(request: NormalizedRequest) -> list[str]:
    """A request as lines of text, one fact per line, so that a diff points at what changed."""
    lines = [f"model: {request.model}", f"tool_choice: {json.dumps(request.tool_choice)}"]
    lines.append(f"json_output: {json.dumps(request.json_output, sort_keys=True)}")
    for tool in request.tools:
        name = tool.get("name") if isinstance(tool, dict) else tool
        lines.append(f"tool {name}: {json.dumps(tool, sort_keys=True, ensure_ascii=False)}")
    for i, form in enumerate(request.message_forms(), 1):
        header = f"message {i} {form.get('type', '?')}"
        if form.get("source"):
            header += f" from {form['source']}"
        lines.append(header + ":")
        if form.get("thought"):
            lines.extend("  thought: " + s for s in _text_lines(form["thought"]))
        lines.extend("  " + s for s in _text_lines(form.get("content")))
    return lines


def request_diff(recorded: NormalizedRequest, live: NormalizedRequest, recorded_label: str) -> str:
    """A unified diff from a recorded request to a live one."""
    diff = difflib.unified_diff(
        render_request(recorded),
        render_request(live),
        fromfile=recorded_label,
        tofile="this replay",
        lineterm="",
        n=2,
    )
    return "\n".join(diff)
