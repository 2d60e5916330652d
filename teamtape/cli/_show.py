"""The document behind ``teamtape show RUN`` and its rendering as a timeline."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import zlib
from typing import Any

import duckdb
from rich.console import Console
from rich.text import Text

from teamtape.store import message_text
from teamtape.store.db import rows_as_dicts
from teamtape.tui._format import NO_AGENT, counted, fmt_retries, printable
from teamtape.tui._tracebacks import condensed_lines, error_line, last_frame, without_recorder_frames

from ._output import console, fmt_cost, fmt_ms, fmt_tokens, fmt_ts, local

MAX_DEPTH = 8
TRACEBACK_LINES = 24
PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta")
HIDDEN_KINDS = ("blob", "agent_turn")
# Shown through the tool_call events, which also carry durations and nested runs.
TOOL_MESSAGE_TYPES = ("ToolCallRequestEvent", "ToolCallExecutionEvent")
_PLAIN_ID = re.compile(r"[0-9A-Za-z_.-]+")


def is_direct_model_call(events: list[dict[str, Any]]) -> bool:
    """Whether a run's events are those of a model call a script made outside any team or agent."""
    return (
        bool(events)
        and events[0]["kind"] == "run_started"
        and bool(events[0]["payload"].get("direct_model_call"))
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return rows_as_dicts(con.execute(sql, params))


def run_document(con: duckdb.DuckDBPyConnection, run_id: str, depth: int = 0) -> dict[str, Any]:
    """Everything ``show`` needs about a run: its row, its events (costed), its nested runs."""
    run = _rows(con, "SELECT * FROM runs WHERE run_id = ?", [run_id])[0]
    events = _rows(
        con,
        """SELECT e.seq, e.ts, e.kind, e.agent, e.payload, c.cost_usd
           FROM events e LEFT JOIN llm_calls c ON c.event_id = e.event_id
           WHERE e.run_id = ? AND e.kind NOT IN ('blob') ORDER BY e.seq""",
        [run_id],
    )
    for e in events:
        e["payload"] = json.loads(e["payload"]) if isinstance(e["payload"], str) else e["payload"]
    children = []
    if depth < MAX_DEPTH:
        for (child_id,) in con.execute(
            "SELECT run_id FROM runs WHERE parent_run_id = ? ORDER BY started_at", [run_id]
        ).fetchall():
            children.append(run_document(con, child_id, depth + 1))
    return {"run": run, "events": events, "children": children}


def agent_style(name: str | None) -> str:
    if not name:
        return "white"
    if name == "user":
        return "bold white"
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]


_OMITTED_TEXT = re.compile(r'\{"\$omitted":\s*(\d+)\}')


def _omitted_size(value: Any) -> int | None:
    """The size a recording without content (``--no-content``) kept in place of ``value``, or None."""
    if isinstance(value, dict) and set(value) == {"$omitted"} and isinstance(value["$omitted"], int):
        return value["$omitted"]
    match = _OMITTED_TEXT.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def _short(value: Any, n: int = 400) -> str:
    omitted = _omitted_size(value)
    if omitted is not None:
        return f"‹{counted(omitted, 'character')} not recorded›"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\r", "")
    return text if len(text) <= n else text[: n - 1] + "…"


def _line(out: Console, indent: str, *parts: tuple[str, str]) -> None:
    text = Text(indent)
    for content, style in parts:
        text.append(printable(content), style=style)  # recorded text: escape sequences shown, not obeyed
    out.print(text, overflow="fold")


def _clock(ts: dt.datetime | None) -> str:
    """An event's local time of day, to the millisecond (``09:00:33.678``)."""
    return local(ts).strftime("%H:%M:%S.%f")[:-3] if ts else ""


def _error_said(err: dict[str, Any]) -> str:
    """``Type: message`` of a recorded error (the type alone when it has no message)."""
    return error_line(err.get("type"), _short(err.get("message") or "", 600))


def _render_event(out: Console, e: dict[str, Any], indent: str) -> None:
    p, kind, agent = e["payload"], e["kind"], e["agent"]
    ts = _clock(e["ts"])
    stamp = (f"{ts} ", "dim")
    if kind == "message":
        mtype = p.get("type", "")
        if mtype in TOOL_MESSAGE_TYPES:
            return
        if mtype == "HandoffMessage":
            _line(
                out,
                indent,
                stamp,
                (p.get("source", agent) or "", agent_style(agent)),
                (" → ", "bold"),
                (str(p.get("target")), agent_style(p.get("target"))),
                ("  handoff: ", "dim"),
                (_short(message_text(p)), ""),
            )
            return
        label = "" if mtype in ("TextMessage", "ToolCallSummaryMessage") else f"[{mtype}] "
        _line(
            out,
            indent,
            stamp,
            (f"{agent or '?'}: ", "bold " + agent_style(agent)),
            (label, "dim"),
            (_short(message_text(p) or p.get("content") or "", 1200), ""),
        )
    elif kind == "llm_call":
        usage = p.get("usage") or {}
        extra = []
        if p.get("streamed"):
            ttft = p.get("ttft_ms")
            extra.append(f"streamed, first chunk {fmt_ms(ttft)}" if ttft is not None else "streamed")
        if usage.get("cache_read_tokens"):
            extra.append(f"{usage['cache_read_tokens']:,} cached")
        if p.get("cached"):
            extra.append("served from cache")
        if p.get("retries"):
            extra.append(fmt_retries(p["retries"], fmt_ms))
        if p.get("stopped_reading"):
            extra.append("the caller stopped reading it")
        detail = f" ({'; '.join(extra)})" if extra else ""
        _line(
            out,
            indent,
            stamp,
            ("  ◆ llm  ", "blue"),
            (f"{agent or NO_AGENT} ", agent_style(agent)),
            (
                f"{p.get('model') or '(unknown model)'}  {fmt_tokens(usage.get('input_tokens'), usage.get('output_tokens'))} tok  "
                f"{'failed' if p.get('error') else fmt_cost(e.get('cost_usd'))}  {fmt_ms(p.get('duration_ms'))}{detail}",
                "dim",
            ),
        )
        err = p.get("error")
        if isinstance(err, dict):  # a cancelled call has no message: its type says what happened
            _line(out, indent, ("      ✗ ", "bold red"), (_error_said(err), "red"))
    elif kind == "tool_call":
        failed = bool(p.get("is_error"))
        _line(
            out,
            indent,
            stamp,
            ("  ⚙ tool ", "yellow"),
            (f"{agent} ", agent_style(agent)),
            (f"{p.get('tool')}({_short(p.get('arguments'), 200)})", "bold"),
            (" → ✗ error: ", "bold red") if failed else (" → ", "dim"),  # not by colour alone
            (_short(p.get("result"), 400), "red" if failed else "green"),
            (f"  {fmt_ms(p.get('duration_ms'))}", "dim"),
        )
        raised = p.get("error")
        if failed and isinstance(raised, dict) and raised.get("type"):  # what the tool raised, and where
            where = last_frame(str(raised.get("traceback") or ""))
            _line(
                out,
                indent,
                ("      ✗ ", "bold red"),
                (f"{raised['type']}{f' at {where}' if where else ''}", "red"),
            )
    elif kind == "memory_query":
        query = f" query={_short(p.get('query'), 80)!r}" if p.get("query") else ""
        _line(
            out,
            indent,
            stamp,
            ("  ◇ memory ", "magenta"),
            (f"{agent} ", agent_style(agent)),
            (f"{p.get('memory')}{query} → {p.get('n_results', 0)} result(s)", "dim"),
        )
    elif kind == "speaker_selection":
        err = p.get("error")
        if isinstance(err, dict):
            picked = (f"{p.get('selector')} could not pick: ", "bold red")
            _line(out, indent, stamp, ("  ➜ ", "dim"), picked, (_error_said(err), "red"))
            return
        by = f"  ({p['decided_by']})" if p.get("decided_by") else ""
        _line(
            out,
            indent,
            stamp,
            ("  ➜ ", "dim"),
            (f"{p.get('selector')} picked ", "dim"),
            (", ".join(p.get("selected") or []), "bold"),
            (by, "dim"),
        )
    elif kind == "message_chunks":
        span = (p.get("offsets_ms") or [0])[-1]
        _line(
            out,
            indent,
            stamp,
            ("  ≋ ", "dim"),
            (f"{agent} streamed {p.get('n')} chunks over {fmt_ms(span)}", "dim"),
        )
    elif kind == "run_ended":
        status = p.get("status")
        _line(
            out,
            indent,
            stamp,
            ("■ ", "bold"),
            (f"run {status}", "bold green" if status == "ok" else "bold red"),
            (f"  {p.get('stop_reason') or ''}", "dim"),
        )
        err = p.get("error")
        if err:
            message, _, remote_tb = str(err.get("message") or "").partition("\nTraceback:")
            _line(
                out,
                indent,
                ("  ✗ ", "bold red"),
                (error_line(err.get("type"), _short(message.strip(), 2000)), "red"),
            )
            traceback = without_recorder_frames(remote_tb.strip() or str(err.get("traceback") or ""))
            if traceback.text:
                shown = condensed_lines(traceback.text, TRACEBACK_LINES)
                if traceback.note:
                    shown.append(traceback.note)
                text = "\n".join(f"{indent}{line}" for line in shown)  # a nested run's stays in its column
                out.print(Text(printable(text), style="dim red"), overflow="fold")
    elif kind == "run_crashed":
        _line(out, indent, stamp, ("■ run crashed: ", "bold red"), (str(p.get("reason")), "red"))
    elif kind == "recorder_warning":
        _line(out, indent, stamp, ("! ", "yellow"), (str(p.get("message")), "yellow"))


def _message_id(event: dict[str, Any]) -> str | None:
    """The id of the message an event is (or streamed), if it is one."""
    if event["kind"] == "message":
        return event["payload"].get("id")
    if event["kind"] == "message_chunks":
        return event["payload"].get("full_message_id")
    return None


def _duration_text(run: dict[str, Any]) -> str:
    """How long the run took, or has been running so far."""
    if run["duration_ms"] is not None:
        return fmt_ms(run["duration_ms"])
    started = run.get("started_at")
    if run.get("status") == "running" and isinstance(started, dt.datetime):
        return f"running for {_time_since(started)}"
    return "duration unknown"


def _time_since(ts: dt.datetime) -> str:
    """How long ago a stored (naive UTC) time was."""
    return fmt_ms(max((dt.datetime.now(dt.UTC).replace(tzinfo=None) - ts).total_seconds() * 1000, 0.0))


def _tokens_text(doc: dict[str, Any]) -> str:
    """The run's tokens in/out; ``?`` when no call reported them, ``+?`` after a sum that misses some
    (failed calls, streams without usage), as costs are shown."""
    run = doc["run"]
    calls = [e for e in doc["events"] if e["kind"] == "llm_call"]
    unknown = sum(1 for e in calls if (e["payload"].get("usage") or {}).get("input_tokens") is None)
    if calls and unknown == len(calls):
        return fmt_tokens(None, None)
    return fmt_tokens(run["input_tokens"], run["output_tokens"]) + ("+?" if unknown else "")


def _nested_note(doc: dict[str, Any]) -> str:
    """Calls and tokens are the run's own, its cost adds its nested runs' (as in ``runs``): say so."""
    nested = len(doc["children"])
    return f" (incl. {counted(nested, 'nested run')})" if nested else ""


def _message_ids(doc: dict[str, Any]) -> set[str]:
    """The ids of the messages a run (and its nested runs) recorded: an agent that streams a nested
    run's messages (AgentTool) passes them on in its own run too, where they need not be shown twice."""
    own = {m for m in map(_message_id, doc["events"]) if m}
    return own.union(*(_message_ids(child) for child in doc["children"]))


def _render_unanswered_call(out: Console, e: dict[str, Any], indent: str, run: dict[str, Any]) -> None:
    """A model call sent and not answered: still waiting (a running run), or never answered."""
    ts = _clock(e["ts"])
    if run["status"] == "running":
        state = "waiting for the answer" + (f" for {_time_since(e['ts'])}" if e["ts"] else "")
    else:
        state = "no answer: the run ended while it waited"
    agent = e["agent"]
    _line(
        out,
        indent,
        (f"{ts} ", "dim"),
        ("  ◆ llm  ", "blue"),
        (f"{agent or NO_AGENT} ", agent_style(agent)),
        (f"{e['payload'].get('model') or '(unknown model)'}  ", "dim"),
        (state, "yellow" if run["status"] == "running" else "bold red"),
    )


def _render(out: Console, doc: dict[str, Any], indent: str) -> None:
    run = doc["run"]
    title = " · ".join(x for x in (run.get("name"), run.get("team_type")) if x)
    status_style = {"ok": "green", "running": "yellow"}.get(run["status"], "red")
    _line(
        out,
        indent,
        ("▶ ", "bold"),
        (title or "run", "bold"),
        ("  ", ""),
        (run["run_id"], "dim"),
        ("  ", ""),
        (str(run["status"]), "bold " + status_style),
    )
    _line(out, indent, ("  task: ", "dim"), (_short(run.get("task") or "", 300), ""))
    _line(
        out,
        indent,
        ("  ", ""),
        (
            f"started {fmt_ts(run['started_at'], zone=True)} · {_duration_text(run)} · "
            f"{counted(run['messages'], 'message')} · {counted(run['llm_calls'], 'LLM call')} · {_tokens_text(doc)} tokens · "
            f"{counted(run['failed_calls'], 'failed call') + ' · ' if run.get('failed_calls') else ''}"
            f"{fmt_cost(run['cost_usd'], run['unpriced_calls'])}{_nested_note(doc)}",
            "dim",
        ),
    )
    children = list(doc["children"])
    shown_nested = {m for child in children for m in _message_ids(child)}
    answered = {e["payload"].get("call_id") for e in doc["events"] if e["kind"] == "llm_call"}
    for e in doc["events"]:
        while (
            children
            and children[0]["run"]["started_at"]
            and e["ts"]
            and children[0]["run"]["started_at"] <= e["ts"]
        ):
            _render(out, children.pop(0), indent + "    │ ")
        if e["kind"] in HIDDEN_KINDS or e["kind"] == "run_started" or _message_id(e) in shown_nested:
            continue
        if e["kind"] == "llm_call_started":  # shown only while it has no answer (a call in flight, or hung)
            if e["payload"].get("call_id") not in answered:
                _render_unanswered_call(out, e, indent, run)
            continue
        _render_event(out, e, indent)
    for child in children:
        _render(out, child, indent + "    │ ")


def render_run(doc: dict[str, Any], store: str = "") -> None:
    """Print a run as a readable timeline, nested runs indented in place, then the commands to try
    next (``store``: the `` --store DIR`` they need, see :func:`store_flag`)."""
    out = console()
    _render(out, doc, "")
    run = doc["run"]
    run_arg = shlex.quote(run["run_id"])  # ids come from recordings, and tapes come from anyone
    hints = [f"teamtape show {run_arg}{store} --json"]
    if run["status"] != "running":  # a replay needs the whole recording
        if is_direct_model_call(doc["events"]):  # no team to run again: its tape serves it to a test
            hints.append(f"teamtape export tape {run_arg}{store} {run_arg}.tape.json")
        else:
            hints.append(f"teamtape replay {run_arg}{store}")
    if run.get("session_id") and _PLAIN_ID.fullmatch(run["session_id"]):
        hints.append(f"teamtape sql{store} \"SELECT * FROM runs WHERE session_id = '{run['session_id']}'\"")
    out.print(Text("\nnext: " + "   ".join(hints), style="dim"), overflow="fold")
