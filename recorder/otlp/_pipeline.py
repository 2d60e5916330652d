"""The translator wired to OpenTelemetry SDK objects that teamtape owns (never the global ones).

Spans are made by a private ``TracerProvider`` whose id generator hands out the ids the translator
chose, with the events' own timestamps; finished spans are collected into size-bounded batches that
the caller exports. Metrics go through a private ``MeterProvider``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Status, StatusCode

from teamtape.store import Event, Redactor

from . import semconv as sc
from ._ids import PresetIds
from ._quiet import begin_attempt
from ._spans import SpanSpec
from ._translate import CostOf, Measurement, Translator

MAX_BATCH_BYTES = 3 * 1024 * 1024
"""Keep each export request under the 4 MiB a gRPC receiver accepts by default."""


def make_resource() -> Resource:
    """``service.name=teamtape`` unless ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` say otherwise."""
    from teamtape.store.events import SCHEMA_VERSION

    attrs: dict[str, Any] = {"teamtape.schema_version": SCHEMA_VERSION}
    configured = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    if not configured:
        attrs["service.name"] = sc.DEFAULT_SERVICE_NAME
    return Resource.create(attrs)


def _span_limits() -> SpanLimits:
    # Generous defaults (conversations flatten into many attributes); OTEL_* limits still win.
    env = os.environ
    return SpanLimits(
        max_span_attributes=None
        if "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT" in env or "OTEL_ATTRIBUTE_COUNT_LIMIT" in env
        else 2048,
        max_events=None if "OTEL_SPAN_EVENT_COUNT_LIMIT" in env else 1024,
    )


class _Collect(SpanProcessor):
    """Keeps finished spans until the owner takes them."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


class PushReader(MetricReader):
    """A metric reader that exports when its owner calls ``collect()``, reporting the outcome."""

    def __init__(self, exporter: Any) -> None:
        super().__init__(
            preferred_temporality=getattr(exporter, "_preferred_temporality", None),
            preferred_aggregation=getattr(exporter, "_preferred_aggregation", None),
        )
        self.exporter = exporter
        self.last_ok = True

    def _receive_metrics(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        if metrics_data is None or not any(
            sm.metrics for rm in metrics_data.resource_metrics for sm in rm.scope_metrics
        ):
            return
        begin_attempt()
        result = self.exporter.export(metrics_data, timeout_millis=timeout_millis)
        self.last_ok = result == MetricExportResult.SUCCESS

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.exporter.shutdown(timeout_millis=timeout_millis)


def _span_size(span: ReadableSpan) -> int:
    size = 200
    for key, value in (span.attributes or {}).items():
        size += len(key) + (len(value) if isinstance(value, str) else 16)
    return size


class Pipeline:
    """Events in; SDK spans (in batches) and metric data out."""

    def __init__(
        self,
        *,
        capture_content: bool,
        cost_of: CostOf | None,
        blob_lookup: Callable[[str], Any] | None = None,
        run_roots: dict[str, str] | None = None,
        metric_readers: Sequence[MetricReader] = (),
        redactor: Redactor | None = None,
    ) -> None:
        self._ids = PresetIds()
        self._collect = _Collect()
        self.resource = make_resource()
        self.tracer_provider = TracerProvider(
            sampler=ALWAYS_ON,
            resource=self.resource,
            id_generator=self._ids,
            span_limits=_span_limits(),
            shutdown_on_exit=False,
        )
        self.tracer_provider.add_span_processor(self._collect)
        from teamtape.store.events import SCHEMA_VERSION

        self._tracer = self.tracer_provider.get_tracer(sc.SCOPE_NAME, f"schema-{SCHEMA_VERSION}")
        self.meter_provider: MeterProvider | None = None
        self._instruments: dict[str, Any] = {}
        if metric_readers:
            self.meter_provider = MeterProvider(
                metric_readers=list(metric_readers), resource=self.resource, shutdown_on_exit=False
            )
            self._instruments = _instruments(self.meter_provider)
        self._scrub = (redactor or Redactor()).scrub_text
        self.translator = Translator(
            self._make_span,
            self._record if self._instruments else None,
            capture_content=capture_content,
            cost_of=cost_of,
            blob_lookup=blob_lookup,
            run_roots=run_roots,
        )

    # -- in ----------------------------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        self.translator.feed(event)

    def finish(self) -> None:
        self.translator.finish()

    @property
    def waiting(self) -> int:
        """Finished spans not yet taken."""
        return len(self._collect.spans)

    # -- out ---------------------------------------------------------------------------------------
    def take_batch(self, max_spans: int) -> list[ReadableSpan]:
        """Up to ``max_spans`` finished spans, and no more than about :data:`MAX_BATCH_BYTES`."""
        spans = self._collect.spans
        n, size = 0, 0
        while n < min(max_spans, len(spans)):
            size += _span_size(spans[n])
            if n and size > MAX_BATCH_BYTES:
                break
            n += 1
        batch, self._collect.spans = spans[:n], spans[n:]
        return batch

    def drop_waiting(self) -> int:
        n = len(self._collect.spans)
        self._collect.spans = []
        return n

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown(timeout_millis=1000)

    # -- translator callbacks ----------------------------------------------------------------------
    def _clean(self, attrs: dict[str, Any]) -> dict[str, Any]:
        scrub = self._scrub
        out: dict[str, Any] = {}
        for key, value in attrs.items():
            if isinstance(value, str) and len(value) >= 8:
                value = scrub(value)
            elif isinstance(value, list):
                value = [scrub(v) if isinstance(v, str) else v for v in value]
            out[key] = value
        return out

    def _make_span(self, spec: SpanSpec) -> None:
        self._ids.trace_id, self._ids.span_id = spec.trace_id, spec.span_id
        if spec.parent_span_id is None:
            ctx = otel_context.Context()
        else:
            parent = trace.SpanContext(
                spec.trace_id,
                spec.parent_span_id,
                is_remote=False,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            )
            ctx = trace.set_span_in_context(trace.NonRecordingSpan(parent))
        span = self._tracer.start_span(
            spec.name,
            context=ctx,
            kind=spec.kind,
            attributes=self._clean(spec.attributes),
            start_time=spec.start_ns,
        )
        for name, ts, attrs in spec.events:
            span.add_event(name, self._clean(attrs), timestamp=ts)
        if spec.error:
            span.set_status(Status(StatusCode.ERROR, self._scrub(spec.error)))
        span.end(end_time=max(spec.end_ns, spec.start_ns))

    def _record(self, m: Measurement) -> None:
        instrument = self._instruments.get(m.instrument)
        if instrument is None:
            return
        if hasattr(instrument, "record"):
            instrument.record(m.value, m.attributes)
        else:
            instrument.add(m.value, m.attributes)


def _instruments(provider: MeterProvider) -> dict[str, Any]:
    meter = provider.get_meter(sc.SCOPE_NAME)
    return {
        sc.METRIC_TOKEN_USAGE: meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=sc.TOKEN_USAGE_BUCKETS,
        ),
        sc.METRIC_OPERATION_DURATION: meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=sc.OPERATION_DURATION_BUCKETS,
        ),
        sc.METRIC_COST: meter.create_counter(
            sc.METRIC_COST, unit="USD", description="Cost of model calls, from teamtape's price library"
        ),
        sc.METRIC_RUNS: meter.create_counter(sc.METRIC_RUNS, unit="{run}", description="Team and agent runs"),
        sc.METRIC_RUN_DURATION: meter.create_histogram(
            sc.METRIC_RUN_DURATION,
            unit="s",
            description="Duration of team and agent runs",
            explicit_bucket_boundaries_advisory=sc.RUN_DURATION_BUCKETS,
        ),
    }


def export_batch(exporter: SpanExporter, batch: list[ReadableSpan]) -> bool:
    """Send one batch; the exporters' log lines about it are kept for :func:`._quiet.last_problem`."""
    begin_attempt()
    return exporter.export(batch) == SpanExportResult.SUCCESS
