"""The event schema: the one definition every part of teamtape reads and writes.

An event is one line of JSON in a journal and one row of the ``events`` table::

    {"event_id": "...", "run_id": "...", "seq": 3, "ts": 1732380000.123456, "kind": "llm_call",
     "agent": "planner", "payload": {...}, "schema_version": 1}

``seq`` orders the events of one run; ``ts`` is Unix time in seconds (float, UTC). The ``payload``
of each kind is described on :class:`Kind`. Readers must ignore payload fields they do not know, so
adding a field never needs a new schema version; renaming or removing one does. In the ``events``
table, a payload over 1 MiB is a preview carrying ``$spilled`` (the whole of it is in the store's
``spill/``: see :mod:`teamtape.store.spill`).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from json.encoder import c_make_encoder, encode_basestring
from typing import Any
from uuid import UUID

import orjson

SCHEMA_VERSION = 1
"""Version stamped into every event, journal line, tape and exported file."""

MAX_STATE_BYTES = 4 * 1024 * 1024
"""The largest ``save_state()`` snapshot a ``run_ended`` event keeps (serialized bytes)."""


class Kind(StrEnum):
    """Event kinds and their payloads (fields marked ? may be absent or null).

    - ``run_started``: name?, team_type, task (text), task_messages (empty when the task was plain
      text: ``task`` is that text), participants [names], config?
      (redacted component config), config_error?, session_id, parent_run_id?, replay_of?, fork_of?,
      labels {k: v}, pid, host, journal, versions {autogen, teamtape}, direct_model_call? (true: the
      run is one model call a script made outside any team or agent; team_type is the client's class).
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
      raw? (what autogen logged for the call), retries? [{after ("HTTP 429", "ConnectTimeout"),
      wait_ms}] (attempts the provider's SDK repeated within the call), error? {type, message},
      stopped_reading? (true: a stream its caller let go before the answer was whole; no response).
    - ``llm_call_started``: call_id, model, provider, client, request? (as in ``llm_call``, without
      client_args): written as a model call is sent (with its new request blobs), so a call that never
      comes back (a hang, then a kill) still shows who was waiting on which model with what; the call's
      ``llm_call`` (same call_id) carries everything else.
    - ``tool_call``: call_id, tool, kind (function|handoff|agent|team|mcp|workbench), arguments,
      result, is_error, started_ts, duration_ms, child_run_id?.
    - ``memory_query``: memory, query?, results [...], n_results, started_ts, duration_ms.
    - ``speaker_selection``: selector (team type), selected [names], candidates?, duration_ms?
      (null where the team picks outside ``select_speaker``, e.g. MagenticOne), decided_by? (in a
      SelectorGroupChat: selector_func, model, candidate_func or "the only candidate"), error? (the
      selection failed: selected is empty).
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
    LLM_CALL_STARTED = "llm_call_started"
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
    """Last-resort JSON form for values the recorder did not convert itself (orjson and the standard
    library's encoder both call it, so both write such values the same way)."""
    if isinstance(value, float):  # a float subclass (numpy.float64): orjson hands those over
        return float(value) if math.isfinite(value) else None
    if isinstance(value, UUID):
        return str(value)
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
    """``value`` as compact JSON text, as events are written. Never raises on odd values.

    Standard JSON: NaN and infinities are written as ``null`` (as ``JSON.stringify`` and pydantic do),
    so every reader (DuckDB, jq, a browser) can parse every line.
    """
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS).decode("utf-8")
    except TypeError:  # a lone surrogate, an int over 64 bits, nesting deeper than orjson goes
        return _compact_json(value)


def encode_json_bytes(value: Any) -> bytes:
    """:func:`encode_json` as the UTF-8 bytes a journal holds (lone surrogates escaped, see :func:`utf8_line`)."""
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
    except TypeError:
        return utf8_line(_compact_json(value))


# Values orjson has its own form for that ``json.dumps`` (and so the fallback below) would hand to
# ``_json_default``: both encoders write them the same way.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME

# The fallback encoder, built once (``json.dumps`` builds one per call). It keeps no circular-reference
# markers (they would be shared between threads), so a payload that contains itself fails with
# RecursionError instead of ValueError, and it refuses NaN so that :func:`_finite` can replace it.
_compact_encoder = (
    c_make_encoder(None, _json_default, encode_basestring, None, ":", ",", False, False, False)
    if c_make_encoder is not None
    else None
)


def _compact_json(value: Any) -> str:
    """What orjson cannot encode, the standard library's way (NaN and infinities as ``null``)."""
    try:
        if type(value) is dict and _compact_encoder is not None:
            return "".join(_compact_encoder(value, 0))
        return json.dumps(
            value, ensure_ascii=False, default=_json_default, separators=(",", ":"), allow_nan=False
        )
    except ValueError:  # a non-finite float
        return json.dumps(_finite(value), ensure_ascii=False, default=_json_default, separators=(",", ":"))


def _finite(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with NaN and infinities replaced by None (containers walked)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 2000:
        return value
    if isinstance(value, dict):
        return {k: _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, depth + 1) for v in value]
    return value


def utf8_line(text: str) -> bytes:
    r"""The UTF-8 bytes of journal lines.

    A lone surrogate cannot be UTF-8 (Python makes them from bytes that are not UTF-8: a file name read
    with ``os.fsdecode``, a tool's ``surrogateescape`` output, a broken ``\ud800`` escape in a model's
    JSON). Encoded as is, it makes the whole line unreadable to DuckDB and the event would be lost; it
    is written as the six characters ``\udcff`` instead (it can only occur inside a JSON string).

    Example:
        >>> import json
        >>> json.loads(utf8_line(json.dumps({"file": "report-\udcff.txt"}, ensure_ascii=False)))
        {'file': 'report-\\udcff.txt'}
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", text).encode("utf-8")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _envelope_head(event_id: Any, run_id: Any, seq: Any, ts: Any, kind: Any, agent: Any) -> str:
    """The event's JSON up to its payload: ``{"event_id":...,"payload":``. Never raises on odd values."""
    if (
        type(seq) is int
        and type(ts) is float
        and math.isfinite(ts)
        and isinstance(event_id, str)
        and isinstance(run_id, str)
    ):
        tail = _kind_and_agent(kind, agent)
        if tail is not None:
            return (
                f'{{"event_id":{encode_basestring(event_id)},"run_id":{encode_basestring(run_id)},"seq":{seq},'
                f'"ts":{float.__repr__(ts)},{tail}'
            )
    envelope = {"event_id": event_id, "run_id": run_id, "seq": seq, "ts": ts, "kind": kind, "agent": agent}
    return f'{encode_json(envelope)[:-1]},"payload":'


_KIND_AND_AGENT: dict[tuple[str, str | None], str] = {}
"""``"kind":...,"agent":...,"payload":`` of the (kind, agent) pairs seen: a process has few of them."""


def _kind_and_agent(kind: Any, agent: Any) -> str | None:
    """The envelope's ``kind`` and ``agent`` fields (and the ``payload`` key), None when not both text."""
    try:
        return _KIND_AND_AGENT[kind, agent]
    except (KeyError, TypeError):
        pass
    if not isinstance(kind, str) or not (agent is None or isinstance(agent, str)):
        return None
    text = f'"kind":{encode_basestring(kind)},"agent":{"null" if agent is None else encode_basestring(agent)},"payload":'
    if len(_KIND_AND_AGENT) >= 4096:  # agent names made up on the fly: keep the memo small
        _KIND_AND_AGENT.clear()
    _KIND_AND_AGENT[kind, agent] = text
    return text


def _envelope_tail(version: Any) -> str:
    return f',"schema_version":{version if type(version) is int else encode_json(version)}}}'


def encode_event(event: Event) -> str:
    """One journal line (no trailing newline). Never raises on odd payload values.

    The event as compact JSON (``ensure_ascii=False``, see :func:`encode_json`), a ``RawJson`` payload
    written verbatim.
    """
    payload = event.payload if isinstance(event.payload, RawJson) else encode_json(event.payload)
    head = _envelope_head(event.event_id, event.run_id, event.seq, event.ts, event.kind, event.agent)
    return f"{head}{payload}{_envelope_tail(event.schema_version)}"


_LINE_TAIL = utf8_line(_envelope_tail(SCHEMA_VERSION) + "\n")


def event_line(
    event_id: str,
    run_id: str,
    seq: int,
    ts: float,
    kind: str,
    agent: str | None,
    payload: dict[str, Any] | RawJson,
) -> bytes:
    """:func:`encode_event` of these fields as journal bytes, newline included: the recorder's hot path."""
    body = utf8_line(payload) if isinstance(payload, RawJson) else encode_json_bytes(payload)
    return b"".join((utf8_line(_envelope_head(event_id, run_id, seq, ts, kind, agent)), body, _LINE_TAIL))


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
        self._numbers = itertools.count(1)  # next() of it is atomic: threads never share a number
        self._ms = -1
        self._prefix = ""  # the id's millisecond and process part, for ``_ms``

    def event_id(self, now: float | None = None) -> str:
        """A new id; ``now`` (``time.time()``, e.g. the event's own ``ts``) saves reading the clock."""
        n = next(self._numbers)
        ms = int((time.time() if now is None else now) * 1000)
        if ms != self._ms:
            self._prefix = f"{ms:012x}{self._proc}"
            self._ms = ms
        return f"{self._prefix}{n:08x}"


def new_run_id() -> str:
    """A 16-hex-digit random run id: short to type, unique enough for any one store."""
    return os.urandom(8).hex()
