"""The one translator from teamtape events to OTLP spans and metric measurements.

Used live (the :class:`~teamtape.recorder.otlp.OtlpSink` feeds it each event as it is written) and
after the fact (:func:`~teamtape.recorder.otlp.export_runs` feeds it a run's events from the store).
It is a small state machine per open run:

- a model call, tool call or memory query becomes a span as soon as the agent turn it belongs to is
  known (the ``agent_turn`` event arrives when the turn ends, after its calls); until then it waits,
  at most ``max_pending`` per run, and calls that belong to no turn hang under the run span;
- the run's own ``invoke_workflow`` span (with handoffs, speaker selections and the stop reason as
  span events) is emitted when the run ends.

Ids come from :mod:`._ids`, times from the events, so translating the same events twice yields the
same spans.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from opentelemetry.trace import SpanKind

from teamtape.store import Event, Kind, message_text
from teamtape.store.requests import RequestResolver

from . import _ids
from . import semconv as sc
from ._content import BlobCache
from ._spans import (
    Attributes,
    SpanSpec,
    chat_attributes,
    error_of,
    interval,
    ns,
    provider_name,
    put,
    retrieval_attributes,
    tool_attributes,
    turn_attributes,
    us,
)

CostOf = Callable[[Event], "float | None"]
_SLACK_US = 1000
"""Clock slack when deciding whether a call happened inside an agent turn."""


@dataclass
class Measurement:
    """One value to record on a metric instrument named in :mod:`.semconv`."""

    instrument: str
    value: float
    attributes: Attributes


@dataclass
class _Turn:
    agent: str | None
    start: int
    end: int
    span_id: int


@dataclass
class _Run:
    run_id: str
    root_run_id: str
    parent_span_id: int | None
    start: int  # microseconds
    last_ts: int
    workflow: str = "run"
    team: str = "run"  # its top-level run's name or team type (sc.TT_TEAM)
    attributes: Attributes = field(default_factory=dict)
    span_events: list[tuple[str, int, Attributes]] = field(default_factory=list)
    pending: list[Event] = field(default_factory=list)
    turns: deque[_Turn] = field(default_factory=lambda: deque(maxlen=64))
    tool_ids: set[str] = field(default_factory=set)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    unpriced: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    output: str | None = None  # the last message's text (only kept when capturing content)
    unanswered: dict[str, Event] = field(default_factory=dict)  # llm_call_started, by call id, until answered


def workflow_name(payload: Mapping[str, Any]) -> str:
    """The team's (or agent's) name from its component config, else its class name."""
    config = payload.get("config")
    inner = config.get("config") if isinstance(config, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("name"), str) and inner["name"]:
        return str(inner["name"])
    return str(payload.get("team_type") or "run")


_MAX_UNANSWERED = 64
"""Model calls of one run in flight at once that are remembered (a crash shows them as unanswered)."""


class Translator:
    """Turns events into :class:`SpanSpec` and :class:`Measurement` objects, in event order.

    Args:
        on_span: called with each finished span.
        on_measure: called with each metric measurement (or None to skip metrics).
        capture_content: include message, tool, memory and task content.
        cost_of: the cost in USD of an ``llm_call`` event (None when unknown).
        blob_lookup: finds blobs the events do not carry themselves (store-backed when exporting).
        run_roots: the top-level run of runs whose parents this translator will not see.
        max_pending: calls held per run while their agent turn is unknown.
        max_span_events: span events kept per run span.
        max_open_runs: runs tracked at once; beyond it the oldest is sent as still running.
        blob_cache_bytes: how much blob content to remember when capturing content.

    Example:
        >>> spans = []
        >>> t = Translator(spans.append)
        >>> t.feed(Event("e1", "r1", 0, 100.0, "run_started", payload={"team_type": "RoundRobinGroupChat"}))
        >>> t.feed(Event("e2", "r1", 1, 101.5, "run_ended", payload={"status": "ok"}))
        >>> [(s.name, (s.end_ns - s.start_ns) / 1e9) for s in spans]
        [('invoke_workflow RoundRobinGroupChat', 1.5)]
    """

    def __init__(
        self,
        on_span: Callable[[SpanSpec], None],
        on_measure: Callable[[Measurement], None] | None = None,
        *,
        capture_content: bool = False,
        cost_of: CostOf | None = None,
        blob_lookup: Callable[[str], Any] | None = None,
        run_roots: Mapping[str, str] | None = None,
        max_pending: int = 1000,
        max_span_events: int = 1000,
        max_open_runs: int = 10_000,
        blob_cache_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._on_span = on_span
        self._on_measure = on_measure
        self.capture = capture_content
        self._cost_of = cost_of or (lambda _e: None)
        self._roots: dict[str, str] = dict(run_roots or {})
        self._max_pending = max_pending
        self._max_span_events = max_span_events
        self._max_open_runs = max_open_runs
        self._blobs = BlobCache(blob_cache_bytes, fallback=blob_lookup)
        self._requests = RequestResolver(streaming=True)  # a call stores only what its base lacks
        self._teams: dict[str, str] = {}  # top-level run id -> its team (sc.TT_TEAM), newest last
        self.runs: dict[str, _Run] = {}

    # -- entry points ----------------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        """Translate one event (events of one run must come in ``seq`` order)."""
        kind = event.kind
        if kind == Kind.BLOB:
            if self.capture:
                self._blobs.put(event.payload)
            return
        if kind == Kind.RUN_STARTED:
            self._start_run(event)
            return
        run = self.runs.get(event.run_id) or self._start_run(event, implicit=True)
        if kind != Kind.RUN_CRASHED:  # written by the store when it noticed, maybe much later
            run.last_ts = max(run.last_ts, us(event.ts))
        if kind == Kind.LLM_CALL_STARTED:
            if len(run.unanswered) < _MAX_UNANSWERED:
                run.unanswered[str(event.payload.get("call_id"))] = (
                    self._with_asked_request(event) if self.capture else event
                )
        elif kind in (Kind.LLM_CALL, Kind.TOOL_CALL, Kind.MEMORY_QUERY):
            if kind == Kind.LLM_CALL:
                run.unanswered.pop(str(event.payload.get("call_id")), None)
            self._call(run, self._with_whole_request(event) if self.capture else event)
        elif kind == Kind.AGENT_TURN:
            self._turn(run, event)
        elif kind == Kind.SPEAKER_SELECTION:
            self._speaker_selection(run, event)
        elif kind == Kind.MESSAGE:
            self._message(run, event)
        elif kind in (Kind.RUN_ENDED, Kind.RUN_CRASHED):
            self._end_run(run, event)

    def finish(self) -> None:
        """Emit what is still open (runs that have not ended are closed at their last event)."""
        for run in list(self.runs.values()):
            self._close(run, run.last_ts, "running", None, None)

    # -- runs --------------------------------------------------------------------------------------
    def _start_run(self, event: Event, implicit: bool = False) -> _Run:
        p = event.payload if not implicit else {}
        parent = p.get("parent_run_id")
        root = self._roots.get(event.run_id)
        if root is None:
            root = self._roots.get(parent, parent) if parent else event.run_id
        self._roots[event.run_id] = root
        parent_span = None
        if parent:
            tool_call_id = p.get("parent_tool_call_id")
            parent_span = (
                _ids.tool_span_id(parent, tool_call_id) if tool_call_id else _ids.run_span_id(parent)
            )
        run = _Run(event.run_id, root, parent_span, us(event.ts), us(event.ts))
        if not implicit:
            run.workflow = workflow_name(p)
            own = str(p.get("name") or p.get("team_type") or "run")
            run.team = self._teams.get(root, own) if root != event.run_id else own
            if root == event.run_id:  # kept after the run closes: an export sends its nested runs later
                self._teams[root] = own
                if len(self._teams) > self._max_open_runs:
                    del self._teams[next(iter(self._teams))]
            a = run.attributes
            put(a, sc.GEN_AI_WORKFLOW_NAME, run.workflow)
            put(a, sc.GEN_AI_CONVERSATION_ID, p.get("session_id"))
            put(a, sc.SESSION_ID, p.get("session_id"))
            put(a, sc.TT_RUN_NAME, p.get("name"))
            put(a, sc.TT_TEAM_TYPE, p.get("team_type"))
            put(a, sc.TT_PARTICIPANTS, [str(x) for x in p.get("participants") or []])
            put(a, sc.TT_PARENT_RUN_ID, parent)
            put(a, sc.TT_REPLAY_OF, p.get("replay_of"))
            labels = p.get("labels") if isinstance(p.get("labels"), dict) else {}
            for key, value in labels.items():
                put(a, sc.TT_LABEL_PREFIX + str(key), str(value))
            if labels:
                put(a, sc.OI_METADATA, labels)
            if self.capture:
                put(a, sc.OI_INPUT_VALUE, p.get("task"))
        self.runs[event.run_id] = run
        if len(self.runs) > self._max_open_runs:
            oldest = next(iter(self.runs.values()))
            self._close(oldest, oldest.last_ts, "running", None, None)
        return run

    def _end_run(self, run: _Run, event: Event) -> None:
        p = event.payload
        if event.kind == Kind.RUN_CRASHED:
            # It ended when its process was last known alive, as the runs table says (else at its last event).
            alive = p.get("last_alive_ts")
            end = max(run.last_ts, us(alive)) if isinstance(alive, (int, float)) else run.last_ts
            self._close(run, end, "crashed", p.get("reason"), p)
            return
        status = str(p.get("status") or "ok")
        duration = p.get("duration_ms")
        end = run.start + round(duration * 1000) if isinstance(duration, (int, float)) else us(event.ts)
        self._close(run, end, status, p.get("stop_reason"), p)

    def _close(
        self, run: _Run, end: int, status: str, stop_reason: Any, payload: dict[str, Any] | None
    ) -> None:
        self._requests.forget_run(run.run_id)
        if status == "crashed":  # the calls it was waiting on when its process died
            for started in run.unanswered.values():
                self._emit_unanswered(run, started, end)
        run.unanswered.clear()
        for pending in run.pending:
            self._emit_call(run, pending, _ids.run_span_id(run.run_id))
        run.pending.clear()
        a = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
            sc.OI_SPAN_KIND: sc.OI_KIND_CHAIN,
            **run.attributes,
        }
        put(a, sc.TT_RUN_STATUS, status)
        put(a, sc.TT_STOP_REASON, stop_reason)
        put(a, sc.GEN_AI_USAGE_INPUT_TOKENS, run.input_tokens)
        put(a, sc.GEN_AI_USAGE_OUTPUT_TOKENS, run.output_tokens)
        put(a, sc.TT_LLM_CALLS, run.llm_calls)
        put(a, sc.TT_TOOL_CALLS, run.tool_calls)
        if run.llm_calls > run.unpriced:
            put(a, sc.TT_COST_USD, run.cost)
        if run.unpriced:  # the cost above is a lower bound (or absent): say by how many calls
            put(a, sc.TT_UNPRICED_CALLS, run.unpriced)
        put(a, sc.OI_OUTPUT_VALUE, run.output)
        end_ns = ns(max(end, run.start))
        events = list(run.span_events)
        if status != "running":
            events.append((sc.EVENT_TERMINATION, end_ns, {sc.TT_RUN_STATUS: status}))
            put(events[-1][2], sc.TT_STOP_REASON, stop_reason)
        error_type, message = error_of(payload or {})
        error = (message or error_type) if error_type else None
        if error_type:
            put(a, sc.ERROR_TYPE, error_type)
            exc = {sc.EXCEPTION_TYPE: error_type, sc.EXCEPTION_MESSAGE: message or ""}
            details = (payload or {}).get("error")
            if self.capture and isinstance(details, dict) and details.get("traceback"):
                exc[sc.EXCEPTION_STACKTRACE] = str(details["traceback"])[-8000:]
            events.append((sc.EVENT_EXCEPTION, end_ns, exc))
        elif status == "crashed":
            put(a, sc.ERROR_TYPE, "crashed")
            error = "the recording process died before the run finished"
        self._on_span(
            SpanSpec(
                name=f"{sc.OP_INVOKE_WORKFLOW} {run.workflow}",
                kind=SpanKind.INTERNAL,
                trace_id=_ids.trace_id_for(run.root_run_id),
                span_id=_ids.run_span_id(run.run_id),
                parent_span_id=run.parent_span_id,
                start_ns=ns(run.start),
                end_ns=end_ns,
                attributes={**a, sc.TT_RUN_ID: run.run_id},
                events=events,
                error=error,
            )
        )
        if status != "running":
            labels = {sc.GEN_AI_WORKFLOW_NAME: run.workflow, sc.TT_TEAM: run.team, sc.TT_RUN_STATUS: status}
            put(labels, sc.TT_TEAM_TYPE, run.attributes.get(sc.TT_TEAM_TYPE))
            self._measure(sc.METRIC_RUNS, 1, labels)
            self._measure(sc.METRIC_RUN_DURATION, max(end - run.start, 0) / 1e6, labels)
        del self.runs[run.run_id]

    # -- calls and turns -------------------------------------------------------------------------------
    def _with_whole_request(self, event: Event) -> Event:
        """An ``llm_call`` with its request's whole message list (resolved in feed order: its spans
        may be emitted later), as the model got it; other events as they are."""
        request = event.payload.get("request")
        if event.kind != Kind.LLM_CALL or not isinstance(request, dict):
            return event
        messages = self._requests.resolve(
            str(event.payload.get("call_id")), request, (event.run_id, event.agent)
        )
        return _with_request_messages(event, request, messages)

    def _with_asked_request(self, started: Event) -> Event:
        """An ``llm_call_started`` with its request's whole message list (the answer, if it comes, is
        resolved from the same base: nothing is let go here)."""
        request = started.payload.get("request")
        if not isinstance(request, dict):
            return started
        return _with_request_messages(started, request, self._requests.peek(request))

    def _call(self, run: _Run, event: Event) -> None:
        start, _end = interval(event)
        for turn in reversed(run.turns):
            if turn.agent == event.agent and turn.start - _SLACK_US <= start <= turn.end + _SLACK_US:
                self._emit_call(run, event, turn.span_id)
                return
        if len(run.pending) >= self._max_pending:
            self._emit_call(run, run.pending.pop(0), _ids.run_span_id(run.run_id))
        run.pending.append(event)

    def _turn(self, run: _Run, event: Event) -> None:
        start, end = interval(event)
        turn_id = event.payload.get("turn_id")
        span_id = (
            _ids.turn_span_id(run.run_id, str(turn_id)) if turn_id else _ids.event_span_id(event.event_id)
        )
        name, attrs, error = turn_attributes(event)
        self._emit(run, event, name, SpanKind.INTERNAL, span_id, _ids.run_span_id(run.run_id), attrs, error)
        run.turns.append(_Turn(event.agent, start, end, span_id))
        keep = []
        for pending in run.pending:
            p_start = interval(pending)[0]
            if pending.agent == event.agent and start - _SLACK_US <= p_start <= end + _SLACK_US:
                self._emit_call(run, pending, span_id)
            else:
                keep.append(pending)
        run.pending = keep

    def _emit_call(self, run: _Run, event: Event, parent_span_id: int) -> None:
        p = event.payload
        if event.kind == Kind.LLM_CALL:
            cost = self._cost_of(event)
            name, attrs, error = chat_attributes(event, cost, self.capture, self._blobs.get)
            self._emit(
                run,
                event,
                name,
                SpanKind.CLIENT,
                _ids.event_span_id(event.event_id),
                parent_span_id,
                attrs,
                error,
            )
            self._llm_metrics(run, event, attrs, cost)
        elif event.kind == Kind.TOOL_CALL:
            run.tool_calls += 1
            call_id = p.get("call_id")
            if call_id and str(call_id) not in run.tool_ids:
                run.tool_ids.add(str(call_id))
                span_id = _ids.tool_span_id(run.run_id, str(call_id))
            else:
                span_id = _ids.event_span_id(event.event_id)
            name, attrs, error = tool_attributes(event, self.capture)
            self._emit(run, event, name, SpanKind.INTERNAL, span_id, parent_span_id, attrs, error)
        else:
            name, attrs, error = retrieval_attributes(event, self.capture)
            self._emit(
                run,
                event,
                name,
                SpanKind.INTERNAL,
                _ids.event_span_id(event.event_id),
                parent_span_id,
                attrs,
                error,
            )

    def _emit_unanswered(self, run: _Run, started: Event, end: int) -> None:
        """A chat span for a model call sent and never answered, from when it was sent to the run's end
        (its id comes from the start's event: sent again, it is the same span)."""
        payload = {
            **started.payload,
            "started_ts": started.ts,
            "duration_ms": max(end - us(started.ts), 0) / 1000,
            "usage": {},
            "error": {"type": "NoAnswer", "message": "no answer: the run ended while it waited"},
        }
        call = replace(started, kind=Kind.LLM_CALL, payload=payload)
        name, attrs, error = chat_attributes(call, None, self.capture, self._blobs.get)
        span_id, parent = _ids.event_span_id(started.event_id), _ids.run_span_id(run.run_id)
        self._emit(run, call, name, SpanKind.CLIENT, span_id, parent, attrs, error)

    def _emit(
        self,
        run: _Run,
        event: Event,
        name: str,
        kind: SpanKind,
        span_id: int,
        parent_span_id: int,
        attrs: Attributes,
        error: str | None,
    ) -> None:
        start, end = interval(event)
        common = {sc.TT_RUN_ID: run.run_id, sc.TT_EVENT_ID: event.event_id}
        for key in (sc.GEN_AI_CONVERSATION_ID, sc.SESSION_ID):
            if key in run.attributes:
                common[key] = run.attributes[key]
        self._on_span(
            SpanSpec(
                name=name,
                kind=kind,
                trace_id=_ids.trace_id_for(run.root_run_id),
                span_id=span_id,
                parent_span_id=parent_span_id,
                start_ns=ns(start),
                end_ns=ns(end),
                attributes={**attrs, **common},
                error=error,
            )
        )

    # -- span events on the run span ---------------------------------------------------------------------
    def _add_span_event(self, run: _Run, name: str, ts: float, attrs: Attributes) -> None:
        if len(run.span_events) < self._max_span_events:
            run.span_events.append((name, ns(us(ts)), attrs))

    def _speaker_selection(self, run: _Run, event: Event) -> None:
        p = event.payload
        attrs: Attributes = {}
        put(attrs, sc.TT_SELECTOR, p.get("selector"))
        put(attrs, sc.TT_SELECTED, [str(s) for s in p.get("selected") or []])
        put(attrs, sc.TT_SELECTION_DURATION_MS, p.get("duration_ms"))
        self._add_span_event(run, sc.EVENT_SPEAKER_SELECTION, event.ts, attrs)

    def _message(self, run: _Run, event: Event) -> None:
        p = event.payload
        if self.capture and str(p.get("type", "")).endswith("Message") and p.get("source") != "user":
            run.output = message_text(p)
        if p.get("type") == "HandoffMessage":
            attrs: Attributes = {}
            put(attrs, sc.TT_HANDOFF_SOURCE, p.get("source") or event.agent)
            put(attrs, sc.TT_HANDOFF_TARGET, p.get("target"))
            if self.capture:
                put(attrs, sc.OI_INPUT_VALUE, message_text(p))
            self._add_span_event(run, sc.EVENT_HANDOFF, event.ts, attrs)

    # -- metrics -------------------------------------------------------------------------------------------
    def _measure(self, instrument: str, value: float, attributes: Attributes) -> None:
        if self._on_measure is not None:
            self._on_measure(Measurement(instrument, value, attributes))

    def _llm_metrics(self, run: _Run, event: Event, attrs: Attributes, cost: float | None) -> None:
        run.llm_calls += 1
        run.input_tokens += int(attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS) or 0)
        run.output_tokens += int(attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS) or 0)
        if cost is None:
            run.unpriced += 1
        else:
            run.cost += cost
        labels: Attributes = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
            sc.GEN_AI_WORKFLOW_NAME: run.workflow,
            sc.TT_TEAM: run.team,
        }
        put(labels, sc.GEN_AI_PROVIDER_NAME, provider_name(event.payload.get("provider")))
        for key in (sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_AGENT_NAME):
            put(labels, key, attrs.get(key))
        start, end = interval(event)
        self._measure(
            sc.METRIC_OPERATION_DURATION,
            max(end - start, 0) / 1e6,
            {**labels, **({sc.ERROR_TYPE: attrs[sc.ERROR_TYPE]} if sc.ERROR_TYPE in attrs else {})},
        )
        for token_type, key in (
            (sc.TOKEN_TYPE_INPUT, sc.GEN_AI_USAGE_INPUT_TOKENS),
            (sc.TOKEN_TYPE_OUTPUT, sc.GEN_AI_USAGE_OUTPUT_TOKENS),
        ):
            if key in attrs:
                self._measure(sc.METRIC_TOKEN_USAGE, attrs[key], {**labels, sc.GEN_AI_TOKEN_TYPE: token_type})
        if cost is not None:
            self._measure(sc.METRIC_COST, cost, labels)


def _with_request_messages(event: Event, request: dict[str, Any], messages: list[Any]) -> Event:
    """``event`` whose request lists ``messages`` whole (no ``base`` to resolve any more)."""
    whole = {k: v for k, v in request.items() if k != "base"}
    return replace(event, payload={**event.payload, "request": {**whole, "messages": messages}})
