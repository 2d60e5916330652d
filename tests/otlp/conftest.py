"""Fixtures for the OTLP export tests: in-memory pipelines and real receivers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otlp_receivers import GrpcReceiver, HttpReceiver

from teamtape.recorder.otlp import OtlpSink
from teamtape.store import Event

OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_METRICS_EXPORTER",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_METRIC_EXPORT_INTERVAL",
)


@pytest.fixture(autouse=True)
def _clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


class Captured:
    """What an in-memory sink produced, with helpers to walk the span tree."""

    def __init__(self, spans: tuple[ReadableSpan, ...], metrics: Any, sink: OtlpSink) -> None:
        self.spans = list(spans)
        self.metrics = metrics
        self.sink = sink

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {sorted(s.name for s in self.spans)}"
        return found[0]

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next((s for s in self.spans if s.context.span_id == span.parent.span_id), None)

    def children(self, span: ReadableSpan) -> list[str]:
        return sorted(s.name for s in self.spans if s.parent and s.parent.span_id == span.context.span_id)

    def metric(self, name: str) -> Any:
        for rm in self.metrics.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        return m
        raise AssertionError(f"no metric {name}")


@pytest.fixture
def translate() -> Iterator[Any]:
    """Feed events through a real OtlpSink that exports to an InMemorySpanExporter."""
    sinks: list[OtlpSink] = []

    def run(events: list[Event], **options: Any) -> Captured:
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        sink = OtlpSink(span_exporter=exporter, metric_readers=[reader], **options)
        sinks.append(sink)
        for event in events:
            sink.handle(event)
        assert sink.flush(10)
        metrics = reader.get_metrics_data()
        sink.close()
        return Captured(exporter.get_finished_spans(), metrics, sink)

    yield run
    for sink in sinks:
        sink.close()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def grpc_receiver() -> Iterator[GrpcReceiver]:
    with GrpcReceiver() as receiver:
        yield receiver
