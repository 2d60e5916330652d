"""After the fact: send recorded runs from the store to an OTLP endpoint.

Spans keep the events' timestamps, and their ids are derived from run and event ids, so exporting
the same runs again sends identical spans (backends that key spans by id show them once).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace.export import SpanExporter

from teamtape.store import Event, Kind, RunNotFoundError, Store, resolve_run_ref

from ._config import (
    OtlpError,
    capture_content_from_env,
    make_metric_exporter,
    make_span_exporter,
    resolve_settings,
)
from ._cost import stored_cost
from ._pipeline import Pipeline, PushReader, export_batch
from ._quiet import last_problem, not_accepted, quiet_exporter_logs, unreachable


@dataclass
class ExportReport:
    """What :func:`export_runs` sent."""

    destination: str
    runs: list[str] = field(default_factory=list)
    spans: int = 0
    metrics: bool = False
    content: bool = False
    note: str | None = None  # something the user should know although the export succeeded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_runs(store: Store, refs: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    """The runs to export (each given run plus the runs nested in it), and every run's top-level run."""
    rows = store.query("SELECT run_id, parent_run_id FROM runs ORDER BY started_at NULLS LAST, run_id")
    parents = {r["run_id"]: r["parent_run_id"] for r in rows}
    if not parents:
        raise RunNotFoundError(
            "The store has no runs yet. Record one with `teamtape demo` or `teamtape run`."
        )
    roots = {run_id: _root_of(run_id, parents) for run_id in parents}
    if not refs:
        return list(parents), roots
    with store.connect() as con:
        chosen = {resolve_run_ref(con, ref) for ref in refs}
    children: dict[str, list[str]] = {}
    for run_id, parent in parents.items():
        if parent:
            children.setdefault(parent, []).append(run_id)
    selected: set[str] = set()
    todo = list(chosen)
    while todo:
        run_id = todo.pop()
        if run_id not in selected:
            selected.add(run_id)
            todo.extend(children.get(run_id, []))
    return [r for r in parents if r in selected], roots


def _root_of(run_id: str, parents: Mapping[str, str | None]) -> str:
    seen = {run_id}
    while (parent := parents.get(run_id)) and parent not in seen:
        seen.add(parent)
        run_id = parent
    return run_id


RUNS_PER_QUERY = 100


def _events_in_chunks(store: Store, runs: Sequence[str]) -> Iterator[list[Event]]:
    """The events of ``runs``, run by run in ``seq`` order, a hundred runs per query.

    (``Store.events`` does the same for one run, but each call folds the journals first: ~35 ms.)
    """
    for i in range(0, len(runs), RUNS_PER_QUERY):
        chunk = list(runs[i : i + RUNS_PER_QUERY])
        rows = store.query(
            "SELECT event_id, run_id, seq, epoch_us(ts) / 1e6 AS ts, kind, agent, payload, schema_version "
            "FROM events WHERE list_contains(?, run_id) ORDER BY list_position(?, run_id), seq",
            [chunk, chunk],
        )
        for row in rows:
            if isinstance(row["payload"], str):
                row["payload"] = json.loads(row["payload"])
        yield [Event.from_dict(row) for row in rows]


class _StoreBlobs:
    """Blob contents fetched from the store, one query per run (only when capturing content)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._data: dict[str, Any] = {}

    def prefetch(self, events: Iterable[Event]) -> None:
        wanted = set()
        for event in events:
            if event.kind == Kind.LLM_CALL and isinstance(event.payload.get("request"), dict):
                request = event.payload["request"]
                for ref in [*(request.get("messages") or []), request.get("tools")]:
                    if isinstance(ref, dict) and "$blob" in ref and ref["$blob"] not in self._data:
                        wanted.add(str(ref["$blob"]))
        if wanted:
            rows = self._store.query(
                "SELECT hash, data FROM blobs WHERE list_contains(?, hash)", [sorted(wanted)]
            )
            for row in rows:
                data = row["data"]
                self._data[row["hash"]] = json.loads(data) if isinstance(data, str) else data

    def __call__(self, digest: str) -> Any:
        return self._data.get(digest)


def export_runs(
    store: Store,
    run_ids: Sequence[str] | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    *,
    headers: str | Mapping[str, str] | None = None,
    timeout: float | None = None,
    capture_content: bool | None = None,
    metrics: bool = False,
    span_exporter: SpanExporter | None = None,
    metric_readers: list[MetricReader] | None = None,
    batch_size: int = 512,
) -> ExportReport:
    """Send recorded runs as OTLP spans (and optionally their metrics) to an endpoint.

    Args:
        store: the store to read.
        run_ids: runs to send (ids, unique prefixes or ``last``); nested runs come along. None: all.
        endpoint: base URL of the receiver; default ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``.
        protocol: ``"http/protobuf"`` or ``"grpc"`` (default: from the environment, or by port).
        headers: extra request headers (e.g. an authorization header for Langfuse).
        timeout: seconds per request.
        capture_content: include message content (default
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``).
        metrics: also send token, duration, cost and run metrics for these runs (stamped with the
            export time: metric backends do not accept back-dated points).
        span_exporter: send spans here instead of over OTLP (tests).
        metric_readers: read metrics with these instead of exporting them (tests).
        batch_size: spans per request.

    Raises:
        OtlpError: no endpoint is configured, or the endpoint refused or could not be reached.
        RunNotFoundError: a run reference matched nothing.

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        >>> from teamtape.store import open_store
        >>> import tempfile
        >>> store = open_store(tempfile.mkdtemp() + "/store", create=True)
        >>> w = store.writer()
        >>> w.append(Event("e1", "run1", 0, 100.0, "run_started", payload={"team_type": "Swarm"}))
        >>> w.append(Event("e2", "run1", 1, 101.0, "run_ended", payload={"status": "ok"}))
        >>> export_runs(store, ["run1"], span_exporter=InMemorySpanExporter()).spans
        1
    """
    settings = None
    if span_exporter is None:
        settings = resolve_settings(endpoint, protocol, headers, timeout)
        if settings is None:
            raise OtlpError(
                "No OTLP endpoint: give --endpoint URL (e.g. http://localhost:4318) or set "
                "OTEL_EXPORTER_OTLP_ENDPOINT."
            )
    capture = capture_content_from_env() if capture_content is None else capture_content
    runs, roots = select_runs(store, run_ids)
    report = ExportReport(
        settings.describe() if settings else type(span_exporter).__name__,
        runs,
        metrics=metrics or bool(metric_readers),
        content=capture,
    )
    readers = list(metric_readers or [])
    cannot = unreachable(settings.traces_endpoint, timeout=1.0) if settings is not None else None
    if cannot is not None:  # the exporter would retry until its timeout: say so now
        raise OtlpError(_failure(report, settings, cannot, "spans"))
    with quiet_exporter_logs():
        exporter = span_exporter or make_span_exporter(settings)  # type: ignore[arg-type]
        push = None
        if metrics and settings is not None:
            metric_exporter = make_metric_exporter(settings)
            if metric_exporter is not None:
                push = PushReader(metric_exporter)
                readers.append(push)
        blobs = _StoreBlobs(store) if capture else None
        pipeline = Pipeline(
            capture_content=capture,
            cost_of=stored_cost(store, runs),
            blob_lookup=blobs,
            run_roots=roots,
            metric_readers=readers if metrics or metric_readers else (),
        )
        try:
            for events in _events_in_chunks(store, runs):
                if blobs is not None:
                    blobs.prefetch(events)
                for event in events:
                    pipeline.feed(event)
                _send(pipeline, exporter, batch_size, report, settings)
            pipeline.finish()
            _send(pipeline, exporter, batch_size, report, settings)
            if push is not None:
                push.collect()
                if not push.last_ok:
                    problem = last_problem(settings.metrics_endpoint) or "the endpoint did not accept them"
                    if not not_accepted(problem):
                        raise OtlpError(_failure(report, settings, problem, "metrics"))
                    report.metrics = False  # a traces-only backend: the spans went, that is the export
                    report.note = (
                        f"{settings.metrics_endpoint} does not accept OTLP metrics ({problem}); the spans "
                        "were sent. Send metrics to a collector or backend that takes them, or leave out --metrics."
                    )
        finally:
            pipeline.shutdown()
            if span_exporter is None:
                exporter.shutdown()
    return report


def _send(
    pipeline: Pipeline, exporter: SpanExporter, batch_size: int, report: ExportReport, settings: Any
) -> None:
    while pipeline.waiting:
        batch = pipeline.take_batch(batch_size)
        if not export_batch(exporter, batch):
            raise OtlpError(_failure(report, settings, _problem(settings), "spans"))
        report.spans += len(batch)


def _problem(settings: Any) -> str | None:
    return last_problem(settings.traces_endpoint if settings else None)


def _failure(report: ExportReport, settings: Any, problem: str | None, what: str) -> str:
    where = settings.describe() if settings else report.destination
    if what == "metrics" and settings is not None and settings.metrics_endpoint:
        where = settings.metrics_endpoint
    sent = f" {report.spans} spans were sent before it failed." if report.spans else ""
    return (
        f"Could not send {what} to {where}: {problem or 'the endpoint did not accept them'}.{sent} "
        "Check that the collector is running and reachable, that the protocol matches its port "
        "(gRPC is usually 4317, HTTP 4318), and any auth headers. Re-running the export sends no span "
        "twice (span ids are derived from the runs); metrics sent again would count again."
    )
