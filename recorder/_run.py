"""RunRecorder: the events of one run of a team or agent, in order."""

from __future__ import annotations

import json
import time
import warnings
from json.encoder import encode_basestring
from typing import Any

from teamtape.store.events import MAX_STATE_BYTES, RawJson, encode_json, encode_json_bytes, message_text
from teamtape.store.redact import env_secrets

from ._content import message_without_content, without_content
from ._context import current_tool_call
from ._guard import failures, paused_gc
from ._recorder import Recorder, python_versions
from ._serialize import RefCache, error_payload, message_payload, message_payload_json


def _task_payload(task: Any, blobs: Any) -> tuple[str | None, list[dict[str, Any]]]:
    if task is None:
        return None, []
    if isinstance(task, str):
        return task, []  # a plain-text task is stored once, as ``task``
    items = list(task) if isinstance(task, (list, tuple)) else [task]
    payloads = [message_payload(m, blobs) for m in items]
    return "\n".join(str(message_text(p) or "") for p in payloads), payloads


def _secret_values(value: Any) -> list[str]:
    """Plain values of the secrets (pydantic ``SecretStr``) anywhere in a python-mode dump."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _secret_values(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _secret_values(v)]
    reveal = getattr(value, "get_secret_value", None)
    secret = reveal() if callable(reveal) else None
    return [secret] if isinstance(secret, str) else []


def _learned_config(component: Any, recorder: Recorder) -> Any:
    """``component``'s config, its secrets blanked. Every key it holds is learned first: a key may
    also sit in plain text elsewhere (a header, a URL, a reply) where no key name says it is one."""
    with warnings.catch_warnings():  # AutoGen's advice to a component's author, not to the user of the team
        warnings.simplefilter("ignore")
        model = component.dump_component()
    recorder.redactor.add_secrets(_secret_values(model.model_dump()))
    return recorder.redactor.redact_obj(model.model_dump(mode="json"))


def _component_config(owner: Any, recorder: Recorder) -> tuple[Any, str | None]:
    recorder.redactor.add_secrets(env_secrets())  # keys a script put in its environment (load_dotenv)
    try:
        return _learned_config(owner, recorder), None
    except Exception as e:
        _learn_parts(owner, recorder)
        return None, f"{type(e).__name__}: {e}"[:500]


def _learn_parts(owner: Any, recorder: Recorder) -> None:
    """When a team's config does not serialize (one custom agent is enough), learn the keys of its
    parts that do: each participant, or else its model client, and the team's own model client."""
    for part in [*(getattr(owner, "_participants", None) or []), owner]:
        for component in (part, getattr(part, "_model_client", None)):
            if component is None or (component is owner and part is owner):
                continue
            try:
                _learned_config(component, recorder)
                break
            except Exception:
                raw = getattr(component, "_raw_config", None)  # a client that cannot dump itself
                if isinstance(raw, dict):
                    recorder.redactor.redact_obj(raw)


class _ChunkBuffer:
    __slots__ = ("first", "full_message_id", "offsets", "parts")

    def __init__(self, full_message_id: str | None) -> None:
        self.first = time.time()
        self.offsets: list[float] = []
        self.parts: list[str] = []
        self.full_message_id = full_message_id


class RunRecorder:
    """Emits the events of one run and keeps what they need in common (seq, blobs memo)."""

    def __init__(
        self,
        recorder: Recorder,
        owner: Any,
        *,
        team_type: str,
        participants: list[str],
        parent: RunRecorder | None,
    ) -> None:
        from teamtape.store import new_run_id

        self.replays: dict[str, str] = {}
        """``replay_of`` / ``fork_of``: the recorded run this run replays (set by a replay)."""

        self.recorder = recorder
        self.run_id = new_run_id()
        self.owner_type = team_type
        self.parent = parent
        self.participants = participants
        self.seq = 0
        self.started = time.time()
        self._perf = time.perf_counter()
        self.llm_message_cache = RefCache()
        # The last request of each (agent, client), so the next one is stored as a delta.
        self.last_requests: dict[tuple[Any, int], tuple[str, list[Any]]] = {}
        self._calls = 0
        self.tools_cache: dict[tuple[str | int, ...], tuple[list[Any], dict[str, str]]] = {}
        self._chunks: dict[str, _ChunkBuffer] = {}
        self.ended = False
        self.saw_result = False
        self.tool_call = current_tool_call.get()
        self.session_id = recorder.session_for(owner)
        # Blobs first seen in this run are written into this run, whichever run is current.
        self.blobs = recorder.blobs.bound(self._emit_blob)
        # A run of one agent (``agent.run()``, a direct ``on_messages``) records that agent's turn as
        # it happens: its input messages first, then what the turn streams (see _turns).
        self.live_owner: Any = None
        self.live_started = False
        self.record_inputs = True
        self._message_ids: set[str] = set()
        # A team run records its output where it is made (see _runs.record_output_at_source): what its
        # participants yield, as they yield it (these agents), and what its manager puts out.
        self.yielding_participants: frozenset[int] = frozenset()
        self._recorded_at_yield: set[str] = set()  # ids the team's output will carry again
        self._held: list[tuple[int, str, str | None, dict[str, Any] | RawJson]] | None = None

    def next_call_id(self) -> str:
        """A call id unique in this run, known before the call's event is written."""
        self._calls += 1
        return f"{self.run_id}-c{self._calls}"

    def emit(self, event_kind: str, agent: str | None, /, **payload: Any) -> None:
        """Append one event of this run (payload fields as keyword arguments)."""
        self.emit_payload(event_kind, agent, payload)

    def emit_payload(self, event_kind: str, agent: str | None, payload: dict[str, Any] | RawJson) -> None:
        """Append one event whose payload is a dict or an already serialized JSON object."""
        if not self.recorder.capture_content:
            if event_kind == "blob":
                return
            if isinstance(payload, RawJson):
                payload = json.loads(payload)
            payload = without_content(event_kind, payload)  # type: ignore[arg-type]
        self._append(event_kind, agent, payload)

    def _append(self, event_kind: str, agent: str | None, payload: dict[str, Any] | RawJson) -> None:
        """Write one event of this run with this payload as it is."""
        seq = self.seq
        self.seq = seq + 1
        if self._held is not None:
            self._held.append((seq, event_kind, agent, payload))
        else:
            self.recorder.append(self.run_id, seq, event_kind, agent, payload)

    def hold(self) -> None:
        """Keep the events appended from now on until :meth:`release` writes them with one system call.

        For a burst of events in one synchronous stretch (a model request's new blobs): no await comes
        between ``hold`` and ``release``, so nothing is held while the team waits on anything.
        """
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Write the events held since :meth:`hold`."""
        held, self._held = self._held, None
        if held:
            self.recorder.append_many(self.run_id, held)

    def _emit_blob(self, digest: str, media_type: str, data: Any) -> None:
        if isinstance(data, RawJson):
            head = f'{{"hash":{encode_basestring(digest)},"media_type":{encode_basestring(media_type)}'
            self.emit_payload("blob", None, RawJson(f'{head},"data":{data}}}'))
        else:
            self.emit("blob", None, hash=digest, media_type=media_type, data=data)

    # -- start / end --------------------------------------------------------------------------------
    def start(self, owner: Any, task: Any, extra: dict[str, Any] | None = None) -> None:
        rec = self.recorder
        # Blobs of the task (images) are written right after run_started, which comes first.
        pending: list[tuple[str, str, Any]] = []
        task_text, task_messages = _task_payload(task, rec.blobs.bound(lambda *blob: pending.append(blob)))
        config, config_error = _component_config(owner, rec)
        payload: dict[str, Any] = {
            "name": rec.name,
            "team_type": self.owner_type,
            "task": task_text,
            "task_messages": task_messages,
            "participants": self.participants,
            "config": config,
            "config_error": config_error,
            "session_id": self.session_id,
            "parent_run_id": self.parent.run_id if self.parent else None,
            "labels": rec.labels,
            "pid": rec.pid,
            "host": rec.host,
            "journal": rec.journal_name,
            "versions": python_versions(),
        }
        if self.tool_call is not None:
            payload["parent_tool_call_id"] = self.tool_call.get("call_id")
            self.tool_call["child_run_id"] = self.run_id
        if extra:
            payload.update(extra)
        self.replays = {k: str(payload[k]) for k in ("replay_of", "fork_of") if payload.get(k)}
        rec.open_runs[self.run_id] = self
        rec.run_ids.append(self.run_id)
        self.emit("run_started", None, **payload)
        for blob in pending:
            self._emit_blob(*blob)

    async def end(
        self,
        status: str,
        *,
        owner: Any = None,
        stop_reason: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        """End the run; snapshots ``save_state()`` of the owner when it finished normally."""
        if self.ended:
            return
        if owner is None or not (
            self.recorder.save_state and self.recorder.capture_content and status == "ok"
        ):
            self.end_sync(status, stop_reason=stop_reason, error=error)
            return
        # The snapshot is thousands of plain dicts and lists, freed as soon as it is written. With the
        # cyclic collector paused meanwhile, reference counting frees them before the collector ever sees
        # them: otherwise the collector would move them to its oldest generation while they are being
        # built, which soon makes it walk every object of the process (tens of ms in a long run).
        with paused_gc():
            state, state_error = None, None
            try:
                state = await owner.save_state()  # plain dicts; odd values are encoded by encode_event
            except Exception as e:
                state_error = f"{type(e).__name__}: {e}"[:500]
            self.end_sync(status, stop_reason=stop_reason, error=error, state=state, state_error=state_error)
            del state

    def end_sync(
        self,
        status: str,
        *,
        stop_reason: str | None = None,
        error: BaseException | None = None,
        state: Any = None,
        state_error: str | None = None,
    ) -> None:
        if self.ended:
            return
        self.ended = True
        self.flush_chunks()
        payload: dict[str, Any] = {
            "status": status,
            "stop_reason": stop_reason,
            "duration_ms": (time.perf_counter() - self._perf) * 1000,
        }
        if error is not None:
            payload["error"] = error_payload(error, with_traceback=True)
        if state_error:
            payload["state_error"] = state_error
        state_json = encode_json_bytes(state) if state is not None else None  # one copy, however large
        if state_json is not None and len(state_json) > MAX_STATE_BYTES:
            payload["state_omitted"] = {"bytes": len(state_json), "limit": MAX_STATE_BYTES}
            state_json = None
        if state_json is None:
            self.emit_payload("run_ended", None, payload)
        else:  # secrets in the state are scrubbed from the encoded line like any text
            head = encode_json(payload)
            self.emit_payload("run_ended", None, RawJson(f'{head[:-1]},"state":{state_json.decode()}}}'))
        self.recorder.open_runs.pop(self.run_id, None)

    # -- stream items -------------------------------------------------------------------------------
    def record_item(self, item: Any) -> None:
        """Record one item of a run stream: a message, an event, a chunk, or the final result."""
        try:
            type_name = type(item).__name__
            if type_name == "ModelClientStreamingChunkEvent":
                self._buffer_chunk(item)
            elif type_name == "TaskResult":
                self.saw_result = True
                self.stop_reason = getattr(item, "stop_reason", None)
            elif type_name == "Response":
                self.record_message(item.chat_message)
            else:
                self.record_message(item)
        except Exception as e:
            failures.report("a message", e)

    def record_yielded(self, item: Any) -> None:
        """Record what a participant agent just yielded, before the team passes it on to its output
        (once: an agent may pass on what a teammate it runs yielded). Never raises."""
        try:
            message = item.chat_message if type(item).__name__ == "Response" else item
            message_id = getattr(message, "id", None)
            if self.ended or message_id in self._recorded_at_yield:
                return
            if isinstance(message_id, str):
                self._recorded_at_yield.add(message_id)
        except Exception as e:
            failures.report("a message", e)
            return
        self.record_item(item)

    def record_output(self, item: Any) -> None:
        """Record what the team puts on its output (its ``run_stream``), unless it was recorded where a
        participant yielded it. Never raises."""
        try:
            message_id = getattr(item, "id", None)
            if isinstance(message_id, str) and message_id in self._recorded_at_yield:
                self._recorded_at_yield.discard(message_id)
                return
            if self.ended or type(item).__name__ == "GroupChatTermination":  # not an item of the stream
                return
        except Exception as e:
            failures.report("a message", e)
            return
        self.record_item(item)

    def record_message(self, message: Any) -> None:
        """Record a message once: one already recorded in this run (same id) is skipped."""
        message_id = getattr(message, "id", None)
        if isinstance(message_id, str):
            if message_id in self._message_ids:
                return
            self._message_ids.add(message_id)
        source = getattr(message, "source", None)
        self._flush_chunks_of(source)
        if not self.recorder.capture_content:
            bare = message_without_content(message)
            if bare is not None:
                self._append("message", source, bare)
                return
        self.emit_payload("message", source, message_payload_json(message, self.blobs))

    def record_messages(self, messages: Any) -> None:
        for m in messages or []:
            self.record_item(m)

    stop_reason: str | None = None

    def _buffer_chunk(self, chunk: Any) -> None:
        key = f"{chunk.source}\x00{getattr(chunk, 'full_message_id', None)}"
        buf = self._chunks.get(key)
        if buf is None:
            buf = self._chunks[key] = _ChunkBuffer(getattr(chunk, "full_message_id", None))
        buf.offsets.append(round((time.time() - buf.first) * 1000, 3))
        buf.parts.append(str(chunk.content))

    def _flush_chunks_of(self, source: str | None) -> None:
        if not self._chunks:
            return
        for key in [k for k in self._chunks if k.split("\x00", 1)[0] == source]:
            self._emit_chunks(key)

    def flush_chunks(self) -> None:
        for key in list(self._chunks):
            self._emit_chunks(key)

    def _emit_chunks(self, key: str) -> None:
        buf = self._chunks.pop(key)
        source = key.split("\x00", 1)[0]
        self.emit(
            "message_chunks",
            source,
            full_message_id=buf.full_message_id,
            n=len(buf.parts),
            text="".join(buf.parts),
            first_ts=buf.first,
            offsets_ms=buf.offsets,
        )
