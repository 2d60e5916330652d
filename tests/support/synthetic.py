"""A fast generator of synthetic teamtape stores, for TUI tests and benchmarks.

The events follow the contract in ``teamtape.store.events`` (run_started, message of every type the
TUI shows, message_chunks, llm_call with content-addressed request messages, tool_call, memory_query,
speaker_selection, blob, run_ended, run_crashed). Journal lines are written directly (one
``write`` per file, no per-event ``JournalWriter.append``) and folded with ``Store.sync()``, so a store
of 10,000 runs / 1,000,000 events takes about a minute to build.

Everything is deterministic for a given seed: run ids, event ids and timestamps (from
:data:`BASE_TS`), so SVG snapshots of a synthetic store never change.

Example:
    >>> from tests.support.synthetic import build_synthetic_store
    >>> info = build_synthetic_store("/tmp/synthetic-doc", runs=12, events=600)
    >>> info.runs >= 12, info.errored_run_id is not None
    (True, True)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teamtape.store import SCHEMA_VERSION, Store, open_store

MARKER = "synthetic.json"
"""Written into a synthetic store: the arguments it was built with and what it holds."""

BASE_TS = 1732370400.0
"""2024-11-23 14:00:00 UTC: the start of the first synthetic run."""

TEAMS = (
    ("research", "SelectorGroupChat", ("planner", "researcher", "analyst")),
    ("support", "Swarm", ("triage", "billing", "refunds")),
    ("writers", "RoundRobinGroupChat", ("writer", "critic")),
    ("coder", "RoundRobinGroupChat", ("coder", "executor")),
)
MODELS = (
    ("gpt-4o-mini", "openai"),
    ("gpt-4o", "openai"),
    ("claude-3-5-sonnet-20241022", "anthropic"),
    ("my-local-llama", "ollama"),
)
TOOLS = ("search_web", "calculate_percentage", "fetch_sales_report", "lookup_order")
SENTENCES = (
    "Let me look into that.",
    "The sales figures for Q3 grew by 12% compared to Q2.",
    "I will hand this over to the billing specialist.",
    "Here is a summary of what we found so far.",
    "Searching the knowledge base for similar tickets.",
    "The refund was approved for order 4711.",
    "Critique: the second paragraph repeats the first.",
    "TERMINATE",
)
STOP_REASONS = (
    "Text 'TERMINATE' mentioned",
    "Maximum number of messages 12 reached, current message count: 12",
    "Handoff to user from triage detected.",
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "team.py", line 42, in main\n'
    "    await team.run(task=task)\n"
    '  File "tools.py", line 17, in fetch_sales_report\n'
    "    raise ConnectionError('sales API unreachable')\n"
    "ConnectionError: sales API unreachable"
)


@dataclass
class SyntheticStore:
    """What :func:`build_synthetic_store` made."""

    path: Path
    runs: int
    events: int
    run_ids: list[str] = field(default_factory=list)
    errored_run_id: str | None = None
    crashed_run_id: str | None = None
    nested_parent_id: str | None = None
    nested_child_id: str | None = None
    big_run_id: str | None = None
    session_id: str | None = None

    def open(self) -> Store:
        return open_store(self.path)


def _blob_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


class _RunWriter:
    """Builds the event lines of one run."""

    def __init__(
        self, rng: random.Random, run_id: str, ts: float, out: list[str], seen_blobs: set[str]
    ) -> None:
        self.rng, self.run_id, self.ts, self.out, self.seen_blobs = rng, run_id, ts, out, seen_blobs
        self.seq = 0
        self.start = ts

    def emit(self, kind: str, agent: str | None, payload: dict[str, Any], dt: float = 0.35) -> None:
        self.ts += dt
        self.out.append(
            json.dumps(
                {
                    "event_id": f"{self.run_id}-{self.seq:07d}",
                    "run_id": self.run_id,
                    "seq": self.seq,
                    "ts": round(self.ts, 6),
                    "kind": kind,
                    "agent": agent,
                    "payload": payload,
                    "schema_version": SCHEMA_VERSION,
                },
                separators=(",", ":"),
            )
        )
        self.seq += 1

    def blob(self, data: Any) -> dict[str, str]:
        h = _blob_hash(data)
        if h not in self.seen_blobs:
            self.seen_blobs.add(h)
            self.emit("blob", None, {"hash": h, "media_type": "application/json", "data": data}, dt=0.0)
        return {"$blob": h}

    def message(self, mtype: str, source: str, text: str, **extra: Any) -> None:
        self.emit(
            "message", source, {"type": mtype, "source": source, "text": text, "content": text, **extra}
        )

    def llm_call(
        self, agent: str, history: list[dict[str, Any]], reply: str, tool: str | None = None
    ) -> None:
        model, provider = self.rng.choice(MODELS)
        i = 100 * self.rng.randint(3, 40)
        o = 10 * self.rng.randint(2, 60)
        streamed = self.rng.random() < 0.3
        duration = round(self.rng.uniform(300, 4000), 1)
        ttft = round(duration * 0.2, 1) if streamed else None
        response: dict[str, Any] = {
            "content": reply,
            "finish_reason": "tool_calls" if tool else "stop",
            "usage": {"prompt_tokens": i, "completion_tokens": o},
            "cached": False,
        }
        if tool:
            response["content"] = [
                {"id": f"call_{self.seq}", "name": tool, "arguments": '{"query": "Q3 sales"}'}
            ]
        self.emit(
            "llm_call",
            agent,
            {
                "call_id": f"llm-{self.run_id}-{self.seq}",
                "model": model,
                "provider": provider,
                "client": "OpenAIChatCompletionClient",
                "started_ts": round(self.ts, 6),
                "duration_ms": duration,
                "ttft_ms": ttft,
                "streamed": streamed,
                "cached": False,
                "request": {
                    "messages": [self.blob(m) for m in history[-6:]],
                    "tool_choice": "auto",
                    "json_output": None,
                    "extra_args": {},
                },
                "response": response,
                "usage": {"input_tokens": i, "output_tokens": o, "cache_read_tokens": 0},
            },
            dt=duration / 1000,
        )
        if streamed and reply:
            words = reply.split()
            self.emit(
                "message_chunks",
                agent,
                {
                    "n": len(words),
                    "text": reply,
                    "first_ts": round(self.ts - duration / 1000 + ttft / 1000, 6),
                    "offsets_ms": [round(k * 40.0, 1) for k in range(len(words))],
                },
                dt=0.0,
            )


def _write_run(
    w: _RunWriter,
    *,
    name: str,
    team: str,
    agents: tuple[str, ...],
    n_events: int,
    session: str,
    parent: str | None = None,
    ending: str = "ok",
    child: str | None = None,
) -> None:
    rng = w.rng
    task = f"Task {w.run_id[:4]}: summarise the quarterly sales numbers"
    w.emit(
        "run_started",
        None,
        {
            "name": name,
            "team_type": team,
            "task": task,
            "task_messages": [task],
            "participants": list(agents),
            "session_id": session,
            "parent_run_id": parent,
            "labels": {"env": "synthetic"},
            "pid": 4242,
            "host": "synthetic",
            "journal": None,
            "versions": {"autogen": "0.7.5", "teamtape": "0.1.0"},
        },
        dt=0.0,
    )
    history: list[dict[str, Any]] = [
        {"type": "SystemMessage", "content": f"You are the {agents[0]} of team {name}."},
        {"type": "UserMessage", "content": task, "source": "user"},
    ]
    w.message("TextMessage", "user", task)
    turn = 0
    while w.seq < n_events - 3:
        agent = agents[turn % len(agents)]
        turn += 1
        roll = rng.random()
        if team == "SelectorGroupChat":
            w.emit(
                "speaker_selection",
                None,
                {"selector": team, "selected": [agent], "candidates": list(agents), "duration_ms": 12.5},
            )
            w.message("SelectSpeakerEvent", "SelectorGroupChatManager", agent, content=[agent])
        if roll < 0.3:
            tool = rng.choice(TOOLS)
            w.llm_call(agent, history, "", tool=tool)
            args = {"query": "Q3 sales", "region": "EMEA"}
            w.message("ToolCallRequestEvent", agent, f"{tool}({json.dumps(args)})")
            fails = rng.random() < 0.05
            result = (
                "error: sales API unreachable"
                if fails
                else f"{tool} returned 3 rows: Q1 1.2M, Q2 1.3M, Q3 1.5M"
            )
            w.emit(
                "tool_call",
                agent,
                {
                    "call_id": f"call_{w.seq}",
                    "tool": tool,
                    "kind": "function",
                    "arguments": args,
                    "result": result,
                    "is_error": fails,
                    "started_ts": round(w.ts, 6),
                    "duration_ms": 85.0,
                },
            )
            w.message("ToolCallExecutionEvent", agent, result)
        elif roll < 0.4:
            w.emit(
                "memory_query",
                agent,
                {
                    "memory": "ListMemory",
                    "query": "customer preferences",
                    "results": ["prefers email", "premium tier"],
                    "n_results": 2,
                    "started_ts": round(w.ts, 6),
                    "duration_ms": 3.0,
                },
            )
            w.message("MemoryQueryEvent", agent, "prefers email; premium tier")
        elif roll < 0.5 and team == "Swarm":
            target = agents[turn % len(agents)]
            w.message(
                "HandoffMessage",
                agent,
                f"Transferred to {target}, adopting the role of {target} immediately.",
                target=target,
            )
        elif roll < 0.55:
            w.message("ThoughtEvent", agent, "I should check the previous quarter first.")
        else:
            reply = rng.choice(SENTENCES[:-1])
            w.llm_call(agent, history, reply)
            w.message(
                "TextMessage", agent, reply, models_usage={"prompt_tokens": 300, "completion_tokens": 40}
            )
            history.append({"type": "AssistantMessage", "content": reply, "source": agent})
        if child and turn == 2:
            w.emit(
                "tool_call",
                agents[0],
                {
                    "call_id": "call_nested",
                    "tool": "inner_team",
                    "kind": "team",
                    "arguments": {"task": "check the numbers"},
                    "result": "numbers check out",
                    "is_error": False,
                    "started_ts": round(w.ts, 6),
                    "duration_ms": 900.0,
                    "child_run_id": child,
                },
            )
    if ending == "crashed":
        w.emit(
            "run_crashed",
            None,
            {
                "reason": "the recording process ended without finishing this run",
                "last_event_ts": round(w.ts, 6),
            },
            dt=5.0,
        )
        return
    w.message("TextMessage", agents[-1], "TERMINATE")
    duration = round((w.ts - w.start) * 1000, 1)
    if ending == "error":
        w.emit(
            "run_ended",
            None,
            {
                "status": "error",
                "stop_reason": None,
                "duration_ms": duration,
                "error": {
                    "type": "ConnectionError",
                    "message": "sales API unreachable",
                    "traceback": TRACEBACK,
                },
            },
        )
    else:
        w.emit(
            "run_ended",
            None,
            {"status": ending, "stop_reason": rng.choice(STOP_REASONS), "duration_ms": duration},
        )


def _run_ids(rng: random.Random) -> Iterator[str]:
    while True:
        yield f"{rng.getrandbits(64):016x}"


def build_synthetic_store(
    path: str | os.PathLike[str],
    *,
    runs: int = 40,
    events: int = 4000,
    big_run_events: int = 0,
    seed: int = 7,
    reuse: bool = False,
) -> SyntheticStore:
    """Create (or replace) a store at ``path`` holding about ``runs`` runs and ``events`` events.

    Args:
        path: the store directory.
        runs: number of top-level runs (one of them has a nested child run, counted extra).
        events: total events to aim for, spread evenly over the runs (at least 8 per run).
        big_run_events: if set, the last run has this many events (for "open a big run" benchmarks).
        seed: everything (ids, times, contents) follows from it.
        reuse: keep a store that an earlier call built at ``path`` with the same arguments (benchmarks
            build 1,000,000 events once); otherwise anything at ``path`` is deleted first.

    Returns:
        A :class:`SyntheticStore` naming the interesting runs (errored, crashed, nested, big, a session).
    """
    root = Path(path)
    wanted = {"runs": runs, "events": events, "big_run_events": big_run_events, "seed": seed}
    marker = root / MARKER
    if reuse and marker.is_file():
        saved = json.loads(marker.read_text())
        if saved.pop("wanted", None) == wanted:
            return SyntheticStore(path=root, **saved)
    if root.exists():
        shutil.rmtree(root)
    store = open_store(root, create=True)
    rng = random.Random(seed)
    ids = _run_ids(rng)
    per_run = max(8, (events - big_run_events) // max(runs, 1))
    info = SyntheticStore(path=root, runs=0, events=0)
    seen_blobs: set[str] = set()
    journal = store.layout.journal_dir / "synthetic-0000.jsonl"
    lines: list[str] = []
    session = next(ids)
    info.session_id = session
    start = BASE_TS
    for i in range(runs):
        run_id = next(ids)
        name, team, agents = TEAMS[i % len(TEAMS)]
        if i % 5 != 1:  # every fifth run continues the previous run's session
            session = next(ids) if i else session
        ending = "ok"
        if i == 2:
            ending, info.errored_run_id = "error", run_id
        elif i == 3:
            ending, info.crashed_run_id = "crashed", run_id
        elif i % 17 == 9:
            ending = "cancelled"
        n = big_run_events if (big_run_events and i == runs - 1) else per_run
        child = next(ids) if i == 4 else None
        w = _RunWriter(rng, run_id, start, lines, seen_blobs)
        _write_run(
            w, name=name, team=team, agents=agents, n_events=n, session=session, ending=ending, child=child
        )
        if child:
            info.nested_parent_id, info.nested_child_id = run_id, child
            cw = _RunWriter(rng, child, start + 2.0, lines, seen_blobs)
            _write_run(
                cw,
                name="inner_team",
                team="RoundRobinGroupChat",
                agents=("checker", "reviewer"),
                n_events=16,
                session=next(ids),
                parent=run_id,
            )
            info.runs += 1
            info.events += cw.seq
        if n == big_run_events:
            info.big_run_id = run_id
        info.run_ids.append(run_id)
        info.runs += 1
        info.events += w.seq
        start += 60.0 + (i % 7) * 13.0
        if len(lines) >= 200_000:
            _flush(journal, lines)
    _flush(journal, lines)
    store.sync()
    saved = {k: v for k, v in dataclasses.asdict(info).items() if k != "path"}
    marker.write_text(json.dumps({"wanted": wanted, **saved}))
    return info


def _flush(journal: Path, lines: list[str]) -> None:
    if not lines:  # never a blank line: the fold would report it as unreadable
        return
    with open(journal, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    lines.clear()
