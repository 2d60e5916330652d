"""Helpers for the lake and Grafana tests: small runs written by hand, following the events contract."""

from __future__ import annotations

import time

from teamtape.store import Event, IdFactory, JournalWriter, Store, new_run_id

UNPRICED_MODEL = "my-local-llama"


def add_run(
    store: Store,
    *,
    name: str = "nightly-report",
    model: str = UNPRICED_MODEL,
    ts: float | None = None,
    end: bool = True,
    text: str = "The report is ready.",
    writer: JournalWriter | None = None,
) -> str:
    """Record one small run by hand, following the events.py contract; returns its run id.

    Pass an open ``writer`` to keep the run's recording process "alive" (a run left without
    ``run_ended`` by a closed journal is folded as crashed).
    """
    ids, run_id = IdFactory(), new_run_id()
    t0 = time.time() if ts is None else ts
    own = writer is None
    out = store.writer() if writer is None else writer
    events = [
        Event(
            ids.event_id(),
            run_id,
            0,
            t0,
            "run_started",
            None,
            {
                "name": name,
                "team_type": "RoundRobinGroupChat",
                "task": "write the report",
                "participants": ["writer"],
                "session_id": run_id,
                "labels": {},
                "journal": out.name,
            },
        ),
        Event(
            ids.event_id(),
            run_id,
            1,
            t0 + 0.1,
            "llm_call",
            "writer",
            {
                "call_id": "c1",
                "model": model,
                "provider": "ollama",
                "client": "OllamaChatCompletionClient",
                "started_ts": t0 + 0.1,
                "duration_ms": 420.0,
                "streamed": False,
                "cached": False,
                "request": {"messages": []},
                "response": {"content": text, "finish_reason": "stop"},
                "usage": {"input_tokens": 120, "output_tokens": 30, "cache_read_tokens": 0},
            },
        ),
        Event(
            ids.event_id(),
            run_id,
            2,
            t0 + 0.6,
            "message",
            "writer",
            {"type": "TextMessage", "source": "writer", "text": text},
        ),
    ]
    if end:
        events.append(
            Event(
                ids.event_id(),
                run_id,
                3,
                t0 + 0.7,
                "run_ended",
                None,
                {"status": "ok", "stop_reason": "Maximum number of messages 1 reached", "duration_ms": 700.0},
            )
        )
    out.append_many(events)
    if own:
        out.close()
    return run_id


def end_run(writer: JournalWriter, run_id: str, seq: int = 3) -> None:
    """Finish a run started by :func:`add_run` with ``end=False``, then close its journal."""
    writer.append(
        Event(
            IdFactory().event_id(),
            run_id,
            seq,
            time.time(),
            "run_ended",
            None,
            {"status": "ok", "stop_reason": "done", "duration_ms": 900.0},
        )
    )
    writer.close()
