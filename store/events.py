"""The event schema: the one definition every part of teamtape reads and writes.

An event is one line of JSON in a journal and one row of the ``events`` table::

    {"event_id": "...", "run_id": "...", "seq": 3, "ts": 1732380000.123456, "kind": "llm_call",
     "agent": "planner", "payload": {...}, "schema_version": 1}

``seq`` orders the events of one run; ``ts`` is Unix time in seconds (float, UTC). The ``payload``
of each kind is described on :class:`Kind`. Readers must ignore payload fields they do not know, so
adding a field never needs a new schema version; renaming or removing one does.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from json.encoder import c_make_encoder, encode_basestring
from typing import Any

SCHEMA_VERSION = 1
"""Version stamped into every event, journal line, tape and exported file."""

MAX_STATE_BYTES = 4 * 1024 * 1024
"""The largest ``save_state()`` snapshot a ``run_ended`` event keeps (serialized bytes)."""


class Kind(StrEnum):
    """Event kinds and their payloads (fields marked ? may be absent or null).

    - ``run_started``: name?, team_type, task (text), task_messages (empty when the task was plain
      text: ``task`` is that text), participants [names], config?
      (redacted component config), config_error?, session_id, parent_run_id?, replay_of?, fork_of?,
      labels {k: v}, pid, host, journal, versions {autogen, teamtape}.
    - ``message``: one message or event a user sees in ``run_stream`` (agent = its source):
      type, source, text? (rendered; absent when it is ``content`` itself: read it with
      :func:`message_text`), id?, content (JSON form; images as ``{"$blob": hash}``),
      models_usage?, target? (handoffs), fields? (the other fields of the message).
    - ``message_chunks``: the streaming chunks of one message, compactly (agent = source):
      full_message_id?, n, text, first_ts, offsets_ms [ms since first chunk].
    - ``llm_call``: call_id, model, provider, client (class), started_ts, duration_ms, ttft_ms?,
      streamed, cached, request {messages [{"$blob": hash}], base? {call_id, keep} (the messages are a
      delta on that earlier call: see teamtape.store.requests), tools {"$blob": hash}?, tool_choice,
      json_output, extra_args, client_args? (what the client adds to every request, e.g.
      response_format)}, response {content, thought?, finish_reason, usage, cached}? (null when the
      call failed),
      usage {input_tokens, output_tokens, cache_read_tokens}, chunks {n, offsets_ms, sizes}?,
      raw? (what autogen logged for the call), error? {type, message}.
    - ``tool_call``: call_id, tool, kind (function|handoff|agent|team|mcp|workbench), arguments,
      result, is_error, started_ts, duration_ms, child_run_id?.
    - ``memory_query``: memory, query?, results [...], n_results, started_ts, duration_ms.
    - ``speaker_selection``: selector (team type), selected [names], candidates?, duration_ms?
      (null where the team picks outside ``select_speaker``, e.g. MagenticOne).
    - ``agent_turn``: turn_id, started_ts, duration_ms, error?.
    - ``blob``: hash, media_type, data (JSON value or base64 text). Content stored once by hash.
    - ``run_ended``: status (ok|error|cancelled), stop_reason?, error? {type, message, traceback},
      duration_ms, state? (save_state snapshot), state_error?, state_omitted? {bytes, limit} (a
      snapshot over ``MAX_STATE_BYTES`` is left out: it repeats the run's whole history).
    - ``run_crashed``: written by the store when a run's recording process died before run_ended.
    - ``recorder_warning``: message (the recorder's own trouble, reported once).
    """

    RUN_STARTED = "run_started"
    MESSAGE = "message"
    MESSAGE_CHUNKS = "message_chunks"
    LLM_CALL = "llm_call"
    TOOL_CALL = "tool_call"
    MEMORY_QUERY = "memory_query"
    SPEAKER_SELECTION = "speaker_selection"
    AGENT_TURN = "agent_turn"
    BLOB = "blob"
    RUN_ENDED = "run_ended"
    RUN_CRASHED = "run_crashed"
    RECORDER_WARNING = "recorder_warning"


class RunStatus(StrEnum):
    """What the ``runs.status`` column can hold."""

    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"
    CRASHED = "crashed"


def message_text(payload: dict[str, Any]) -> str | None:
    """The rendered text of a ``message`` payload (stored once when it is the content itself)."""
    text = payload.get("text")
    if text is not None:
        return str(text)
    content = payload.get("content")
    return content if isinstance(content, str) else None


class RawJson(str):
    """A payload that is already one serialized JSON object; :func:`encode_event` writes it verbatim.

    The recorder uses it for payloads pydantic can serialize natively (messages, blobs), to skip
    building and re-encoding a Python dict on the hot path.
    """


@dataclass(slots=True)
class Event:
    """One immutable fact about a run."""

    event_id: str
    run_id: str
    seq: int
    ts: float
    kind: str
    agent: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "run_id": self.run_id,
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "agent": self.agent,
            "payload": self.payload,
            "schema_version": self.schema_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Build an event from its JSON form, checking the envelope (not the payload)."""
        if not isinstance(data, dict):
            raise ValueError("an event must be a JSON object")
        missing = [k for k in ("event_id", "run_id", "seq", "ts", "kind") if k not in data]
        if missing:
            raise ValueError(f"event is missing {', '.join(missing)}")
        payload = data.get("payload") or {}
        if not isinstance(payload, dict):
            raise ValueError("event payload must be a JSON object")
        seq, ts = data["seq"], data["ts"]
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise ValueError("event seq must be an integer")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
            raise ValueError("event ts must be a finite number")
        version = data.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError("event schema_version must be an integer")
        agent = data.get("agent")
        return cls(
            event_id=str(data["event_id"]),
            run_id=str(data["run_id"]),
            seq=seq,
            ts=float(ts),
            kind=str(data["kind"]),
            agent=None if agent is None else str(agent),
            payload=payload,
            schema_version=version,
        )


def _json_default(value: Any) -> Any:
    """Last-resort JSON form for values the recorder did not convert itself."""
    if hasattr(value, "model_dump"):
        try:
            return value.model_dump(mode="json")
        except Exception:
            pass
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": len(value)}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Enum):
        return value.value
    return repr(value)


def encode_json(value: Any) -> str:
    """``value`` as compact JSON text, as events are written. Never raises on odd values."""
    return _compact_json(value)


# The compact JSON encoder of events, built once (``json.dumps`` builds one per call, which costs as
# much as encoding a small payload). It keeps no circular-reference markers (they would be shared
# between threads), so a payload that contains itself fails with RecursionError instead of ValueError.
_compact_encoder = (
    c_make_encoder(None, _json_default, encode_basestring, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


def _compact_json(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, default=_json_default, separators=(",", ":"))``."""
    if type(value) is dict and _compact_encoder is not None:
        return "".join(_compact_encoder(value, 0))
    return json.dumps(value, ensure_ascii=False, default=_json_default, separators=(",", ":"))


def encode_event(event: Event) -> str:
    """One journal line (no trailing newline). Never raises on odd payload values.

    The event as compact JSON (``ensure_ascii=False``), a ``RawJson`` payload written verbatim; the
    envelope is formatted directly when its fields have their usual types.
    """
    payload = event.payload if isinstance(event.payload, RawJson) else _compact_json(event.payload)
    seq, ts, agent, version = event.seq, event.ts, event.agent, event.schema_version
    if (
        type(seq) is int
        and type(ts) is float
        and math.isfinite(ts)
        and type(version) is int
        and isinstance(event.event_id, str)
        and isinstance(event.run_id, str)
        and isinstance(event.kind, str)
        and (agent is None or isinstance(agent, str))
    ):
        return (
            f'{{"event_id":{encode_basestring(event.event_id)},"run_id":{encode_basestring(event.run_id)},'
            f'"seq":{seq},"ts":{float.__repr__(ts)},"kind":{encode_basestring(event.kind)},'
            f'"agent":{"null" if agent is None else encode_basestring(agent)},"payload":{payload},'
            f'"schema_version":{version}}}'
        )
    envelope = event.to_dict()
    del envelope["payload"]
    head = _compact_json(envelope)
    return f'{head[:-1]},"payload":{payload}}}'


def decode_event(line: str | bytes) -> Event:
    """Parse one journal line; raises ValueError with a reason when it is not an event."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"not valid JSON: {e}") from None
    return Event.from_dict(data)


class IdFactory:
    """Short, unique, roughly time-ordered ids without a syscall per id."""

    def __init__(self) -> None:
        self._proc = os.urandom(6).hex()
        self._n = 0

    def event_id(self, now: float | None = None) -> str:
        """A new id; ``now`` (``time.time()``, e.g. the event's own ``ts``) saves reading the clock."""
        self._n += 1
        return f"{int((time.time() if now is None else now) * 1000):012x}{self._proc}{self._n:08x}"


def new_run_id() -> str:
    """A 16-hex-digit random run id: short to type, unique enough for any one store."""
    return os.urandom(8).hex()
