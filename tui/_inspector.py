"""The inspector: everything about one timeline entry (an LLM call, a tool call, a message, an error...).

Recorded text is shown as plain text, never interpreted as markup.
"""

from __future__ import annotations

import json
import time
from itertools import pairwise
from typing import Any

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ._data import EventDetail
from ._format import fmt_cost, fmt_duration, fmt_offset, fmt_retries, printable
from ._timeline import GLYPHS, Entry, Marker
from ._tracebacks import error_line, left_out_note, without_recorder_frames

MAX_TEXT = 20_000


def _text(value: Any, style: str = "") -> Text:
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if len(s) > MAX_TEXT:
        s = s[:MAX_TEXT] + f"\n… ({len(s) - MAX_TEXT:,} more characters; `teamtape show` has everything)"
    return Text(printable(s), style=style)


def _json(value: Any) -> RenderableType:
    if isinstance(value, str):
        return _text(value)
    try:
        dumped = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return _text(repr(value))
    return JSON(dumped) if len(dumped) <= MAX_TEXT else _text(value)


def _facts(rows: list[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        if value is None or value == "" or value == []:
            continue
        grid.add_row(label, value if isinstance(value, Text) else Text(printable(str(value))))
    return grid


def _known(count: Any) -> str:
    """A count, or ``?`` where nobody reported it."""
    return "?" if count is None else str(count)


def _section(title: str) -> Rule:
    return Rule(Text(title, style="bold"), align="left", style="dim")


def _error(err: Any) -> list[RenderableType]:
    if not err:
        return []
    if not isinstance(err, dict):
        return [_section("Error"), _text(err, "bold red")]
    # AutoGen puts an agent's own traceback in the message of the error it raises in the team.
    message = without_recorder_frames(error_line(err.get("type"), str(err.get("message") or "")))
    traceback = without_recorder_frames(str(err.get("traceback") or ""))
    out: list[RenderableType] = [_section("Error"), Text(printable(message.text), style="bold red")]
    if traceback.text:
        out.append(_text(traceback.text, "red"))
    note = left_out_note(message.hidden_frames + traceback.hidden_frames)
    if note:
        out.append(Text(note, style="dim"))
    return out


def _message_content(message: Any) -> RenderableType:
    if not isinstance(message, dict):
        return _json(message)
    role = message.get("type") or message.get("role") or "message"
    who = f" ({message['source']})" if message.get("source") else ""
    content = message.get("content")
    body = _text(content) if isinstance(content, str) else _json(content)
    parts: list[RenderableType] = [Text(printable(f"{role}{who}"), style="bold cyan"), body]
    if message.get("thought"):
        parts.insert(1, _text(f"thought: {message['thought']}", "italic"))
    return Group(*parts)


def render_llm_call(entry: Entry, p: dict[str, Any], detail: EventDetail | None) -> list[RenderableType]:
    usage = p.get("usage") or {}
    response = p.get("response") or {}
    cost = detail.cost_usd if detail else entry.cost_usd
    source = f" ({detail.price_source})" if detail and detail.price_source else ""
    out: list[RenderableType] = [
        _facts(
            [
                ("model", p.get("model")),
                ("provider", p.get("provider")),
                ("client", p.get("client")),
                ("latency", fmt_duration(p.get("duration_ms"))),
                ("retries", fmt_retries(p.get("retries"))),
                ("first chunk", fmt_duration(p.get("ttft_ms")) if p.get("ttft_ms") is not None else None),
                ("streamed", "yes" if p.get("streamed") else "no"),
                ("cached", "yes" if p.get("cached") else "no"),
                (
                    "tokens",
                    # None: the call reported no usage (it failed, or a stream without include_usage)
                    f"{_known(usage.get('input_tokens'))} in · {_known(usage.get('output_tokens'))} out"
                    + (
                        f" · {usage['cache_read_tokens']} cache read"
                        if usage.get("cache_read_tokens")
                        else ""
                    ),
                ),
                (
                    "cost",
                    fmt_cost(cost)
                    + source
                    + ("" if cost is not None else "  (unknown price for this model)"),
                ),
                ("finish", response.get("finish_reason")),
                ("call id", p.get("call_id")),
            ]
        )
    ]
    out += _error(p.get("error"))
    if detail is None and entry.partial:
        return [*out, _section("Response"), Text("loading the response and request…", style="dim")]
    out.append(_section("Response"))
    if response.get("thought"):
        out.append(_text(f"thought: {response['thought']}", "italic"))
    content = response.get("content")
    if isinstance(content, list):
        out.append(Text("tool calls:", style="bold"))
        for call in content:
            if isinstance(call, dict):
                out.append(
                    Text.assemble(
                        ("  ⚙ ", "bold"),
                        (printable(str(call.get("name"))), "bold"),
                        "(",
                        printable(str(call.get("arguments", ""))),
                        ")",
                    )
                )
            else:
                out.append(_json(call))
    elif content is not None:
        out.append(_text(content))
    else:
        out.append(Text("(no response)", style="dim"))
    return out + _request_part(entry, detail)


def _request_part(entry: Entry, detail: EventDetail | None) -> list[RenderableType]:
    """A model call's request: every message it sent (resolved), the tools it offered and its options."""
    request = detail.request if detail else None
    if request is None and (detail is None or entry.partial):
        return [_section("Request"), Text("loading request messages…", style="dim")]
    request = request or {}
    messages = request.get("messages") or []
    out: list[RenderableType] = [_section(f"Request: {len(messages)} message(s)")]
    out += [_message_content(m) for m in messages]
    tools = request.get("tools")
    if tools:
        names = (
            [t.get("name", "?") if isinstance(t, dict) else str(t) for t in tools]
            if isinstance(tools, list)
            else [str(tools)]
        )
        out += [_section("Tools offered"), Text(", ".join(names))]
    extra = {k: request.get(k) for k in ("tool_choice", "json_output", "extra_args") if request.get(k)}
    if extra:
        out += [_section("Options"), _json(extra)]
    return out


def _since_ms(ts: float) -> float:
    return max(time.time() - ts, 0.0) * 1000


def render_entry(entry: Entry, start_ts: float, detail: EventDetail | None = None) -> RenderableType:
    """Everything about ``entry`` (its whole event once ``detail`` has been fetched), as a Rich renderable."""
    p = detail.payload if detail else entry.payload
    head = Text.assemble(
        (GLYPHS[entry.marker], "bold"),
        "  ",
        (printable(entry.agent or ""), "bold"),
        f"  seq {entry.seq} · {fmt_offset(entry.ts - start_ts)}s",
        style="",
    )
    body: list[RenderableType] = [head]
    kind = entry.kind
    if kind == "llm_call":
        body += render_llm_call(entry, p, detail)
    elif kind == "llm_call_started":  # listed while the call has no answer
        body.append(
            _facts(
                [
                    ("model", p.get("model")),
                    ("provider", p.get("provider")),
                    ("client", p.get("client")),
                    (
                        "sent",
                        f"{fmt_offset(entry.ts - start_ts)}s into the run, {fmt_duration(_since_ms(entry.ts))} ago",
                    ),
                    ("answer", Text("none recorded yet", style="bold yellow")),
                    ("call id", p.get("call_id")),
                ]
            )
        )
        if detail is None or detail.request is not None:  # (recordings before 0.1.0 did not send it along)
            body += _request_part(entry, detail)
    elif kind == "tool_call":
        body.append(
            _facts(
                [
                    ("tool", p.get("tool")),
                    ("kind", p.get("kind")),
                    ("duration", fmt_duration(p.get("duration_ms"))),
                    ("outcome", Text("error", style="bold red") if p.get("is_error") else "ok"),
                    ("call id", p.get("call_id")),
                    ("nested run", p.get("child_run_id")),
                ]
            )
        )
        body += [
            _section("Arguments"),
            _json(p.get("arguments")),
            _section("Result"),
            _text(p.get("result"), "red" if p.get("is_error") else ""),
        ]
    elif kind == "memory_query":
        body.append(
            _facts(
                [
                    ("memory", p.get("memory")),
                    ("results", p.get("n_results")),
                    ("duration", fmt_duration(p.get("duration_ms"))),
                ]
            )
        )
        body += [_section("Query"), _text(p.get("query") or ""), _section("Results"), _json(p.get("results"))]
    elif kind == "speaker_selection":
        body.append(
            _facts(
                [
                    ("selector", p.get("selector")),
                    ("selected", ", ".join(map(str, p.get("selected") or []))),
                    ("candidates", ", ".join(map(str, p.get("candidates") or []))),
                    ("duration", fmt_duration(p.get("duration_ms"))),
                ]
            )
        )
    elif kind == "message":
        usage = p.get("models_usage") or {}
        body.append(
            _facts(
                [
                    ("type", p.get("type")),
                    ("source", p.get("source")),
                    ("target", p.get("target")),
                    (
                        "tokens",
                        f"{usage.get('prompt_tokens')} prompt · {usage.get('completion_tokens')} completion"
                        if usage
                        else None,
                    ),
                    ("id", p.get("id")),
                ]
            )
        )
        text = p.get("text") if p.get("text") is not None else p.get("content")
        body += [_section("Text"), _text(text)]
        if not isinstance(p.get("content"), str) and p.get("content") is not None:
            body += [_section("Content"), _json(p.get("content"))]
    elif kind == "message_chunks":
        offsets = [float(x) for x in p.get("offsets_ms") or [] if isinstance(x, (int, float))]
        gaps = [b - a for a, b in pairwise(offsets)]
        first = p.get("first_ts")
        body.append(
            _facts(
                [
                    ("chunks", p.get("n", len(offsets))),
                    (
                        "first chunk",
                        f"{fmt_offset(first - start_ts)}s" if isinstance(first, (int, float)) else None,
                    ),
                    ("streamed over", fmt_duration(offsets[-1]) if offsets else None),
                    (
                        "gap",
                        f"{fmt_duration(sum(gaps) / len(gaps))} mean · {fmt_duration(max(gaps))} longest"
                        if gaps
                        else None,
                    ),
                    ("message id", p.get("full_message_id")),
                ]
            )
        )
        body += [_section("Text"), _text(p.get("text") or "")]
    elif kind in ("run_ended", "run_crashed"):
        body.append(
            _facts(
                [
                    ("status", "crashed" if kind == "run_crashed" else p.get("status")),
                    ("stop reason", p.get("stop_reason")),
                    ("duration", fmt_duration(p.get("duration_ms"))),
                    ("reason", p.get("reason")),
                ]
            )
        )
        body += _error(p.get("error"))
    elif kind == "run_started":
        body.append(
            _facts(
                [
                    ("name", p.get("name")),
                    ("team", p.get("team_type")),
                    ("participants", ", ".join(map(str, p.get("participants") or []))),
                    ("session", p.get("session_id")),
                    ("parent run", p.get("parent_run_id")),
                    ("replay of", p.get("replay_of")),
                    ("host", p.get("host")),
                    ("pid", p.get("pid")),
                ]
            )
        )
        body += [_section("Task"), _text(p.get("task") or "")]
        if p.get("config"):
            body += [_section("Team config (redacted)"), _json(p.get("config"))]
    elif entry.marker is Marker.NESTED:
        body += [Text(entry.summary), Text("Press enter to expand this nested run in place.", style="dim")]
    else:
        body += [*_error(p.get("error")), _section("Payload"), _json(p)]
    return Group(*body)


class Inspector(VerticalScroll, can_focus=True):
    """A scrolling pane showing :func:`render_entry` for the selected timeline entry."""

    ALLOW_MAXIMIZE = True

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("Select an event to see everything about it.", id="inspector-body")

    renderable: RenderableType = ""
    """What the inspector shows now."""

    def show(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self.query_one("#inspector-body", Static).update(renderable)
        self.scroll_home(animate=False)
