"""The live exporter: the recorder hands it each event; a background thread does everything else.

``handle()`` only appends to a bounded queue (a lock, an append, a notify), so a slow, failing or
absent endpoint never slows the team or the recording. When the queue is full new events are
dropped and counted (run start and end events are always kept, so no run is left open). When an
export fails, the batch is dropped and counted, one warning is issued for the life of the sink, and
exporting pauses with exponential backoff (1 s up to 60 s) so a dead endpoint costs nothing.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace.export import SpanExporter

from teamtape.store import Event, Kind, Redactor
from teamtape.store.costs import PriceBook

from ._config import (
    OtlpError,
    capture_content_from_env,
    make_metric_exporter,
    make_span_exporter,
    resolve_settings,
)
from ._cost import live_cost
from ._pipeline import Pipeline, PushReader, export_batch
from ._quiet import last_problem, not_accepted, quiet_exporter_logs, unreachable

_ALWAYS_KEPT = frozenset({Kind.RUN_STARTED, Kind.RUN_ENDED, Kind.RUN_CRASHED})


class OtlpExportWarning(RuntimeWarning):
    """Issued once per sink when spans or metrics could not be delivered."""


@dataclass
class SinkStats:
    """What a sink did so far."""

    events: int = 0
    events_dropped: int = 0
    """Events not translated because the queue was full (the endpoint was slower than the team)."""
    spans_exported: int = 0
    spans_dropped: int = 0
    """Spans made but not delivered (failed export, endpoint down, or still queued at close)."""
    export_failures: int = 0
    metric_export_failures: int = 0
    last_error: str | None = None


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


_QUICK_LOOK_S = 0.3
"""How long close() waits before asking whether the endpoint can be reached at all."""


class OtlpSink:
    """Sends spans and metrics of recorded runs to an OTLP endpoint, live.

    Args:
        endpoint: base URL of the receiver (``http://collector:4318`` for HTTP, ``http://collector:4317``
            for gRPC); default ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``.
        protocol: ``"http/protobuf"`` or ``"grpc"``; default ``OTEL_EXPORTER_OTLP_PROTOCOL``, else
            ``grpc`` for port 4317 and ``http/protobuf`` otherwise.
        headers: extra request headers (``{"authorization": "Basic ..."}`` or ``"k=v,k2=v2"``);
            default ``OTEL_EXPORTER_OTLP_HEADERS``.
        timeout: seconds per export request; default ``OTEL_EXPORTER_OTLP_TIMEOUT`` or 10.
        capture_content: include messages, tool arguments/results, memory results and the task;
            default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.
        prices: prices for the cost attribute and metric (default: genai-prices).
        redactor: scrubs secrets from every string sent (default: patterns and secret env vars).
        span_exporter: send spans here instead (e.g. an ``InMemorySpanExporter`` in tests).
        metric_readers: read metrics with these instead of exporting them over OTLP.
        max_queue: events waiting for the background thread before new ones are dropped.
        max_batch: spans per export request.
        schedule_delay: seconds between span exports (``OTEL_BSP_SCHEDULE_DELAY`` is in ms).
        metric_interval: seconds between metric exports (default ``OTEL_METRIC_EXPORT_INTERVAL`` ms, or 60 s).
        close_timeout: how long :meth:`close` waits for the last export.

    Raises:
        OtlpError: no endpoint is configured, or the endpoint/protocol/headers are malformed.

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        >>> spans = InMemorySpanExporter()
        >>> sink = OtlpSink(span_exporter=spans)
        >>> sink.handle(Event("e1", "r1", 0, 100.0, "run_started", payload={"team_type": "Swarm"}))
        >>> sink.handle(Event("e2", "r1", 1, 102.0, "run_ended", payload={"status": "ok"}))
        >>> sink.close()
        >>> [s.name for s in spans.get_finished_spans()]
        ['invoke_workflow Swarm']
    """

    def __init__(
        self,
        endpoint: str | None = None,
        protocol: str | None = None,
        headers: str | Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
        capture_content: bool | None = None,
        prices: PriceBook | None = None,
        redactor: Redactor | None = None,
        span_exporter: SpanExporter | None = None,
        metric_readers: list[MetricReader] | None = None,
        max_queue: int = 4096,
        max_batch: int = 512,
        schedule_delay: float | None = None,
        metric_interval: float | None = None,
        close_timeout: float = 3.0,
    ) -> None:
        import os

        self.settings = None
        if span_exporter is None:
            self.settings = resolve_settings(endpoint, protocol, headers, timeout)
            if self.settings is None:
                raise OtlpError(
                    "No OTLP endpoint: pass one (e.g. --otlp http://localhost:4318) or set "
                    "OTEL_EXPORTER_OTLP_ENDPOINT."
                )
        self.destination = self.settings.describe() if self.settings else type(span_exporter).__name__
        self.stats = SinkStats()
        self._span_exporter = span_exporter
        self._metric_readers = list(metric_readers or [])
        self._capture = capture_content_from_env() if capture_content is None else capture_content
        self._prices, self._redactor = prices, redactor
        self._max_queue, self._max_batch = max_queue, max_batch
        env_delay = os.environ.get("OTEL_BSP_SCHEDULE_DELAY")
        self._delay = (
            schedule_delay
            if schedule_delay is not None
            else (float(env_delay) / 1000 if env_delay and env_delay.isdigit() else 1.0)
        )
        env_interval = os.environ.get("OTEL_METRIC_EXPORT_INTERVAL")
        self._metric_interval = (
            metric_interval
            if metric_interval is not None
            else (float(env_interval) / 1000 if env_interval and env_interval.isdigit() else 60.0)
        )
        self._close_timeout = close_timeout
        self._queue: deque[Event | _Flush] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._closed = False
        self._warned = False
        self._down_until = 0.0
        self._metrics_down_until = 0.0
        self._backoff = 1.0
        self._noted = False
        self._pipeline: Pipeline | None = None
        self._push: PushReader | None = None
        self._thread = threading.Thread(target=self._work, name="teamtape-otlp", daemon=True)
        self._thread.start()

    # -- called by the recorder ------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Queue one event for translation and export. Never blocks, never raises."""
        try:
            with self._cond:
                self.stats.events += 1
                if self._closed or (len(self._queue) >= self._max_queue and event.kind not in _ALWAYS_KEPT):
                    self.stats.events_dropped += 1
                    return
                self._queue.append(event)
                self._cond.notify()
        except Exception:  # pragma: no cover - a lock and a deque do not fail
            pass

    def flush(self, timeout: float = 5.0) -> bool:
        """Translate and export everything queued so far; False if that took longer than ``timeout``."""
        request = _Flush()
        with self._cond:
            if self._closed:
                return False
            self._queue.append(request)
            self._cond.notify()
        return request.done.wait(timeout)

    def close(self) -> None:
        """Emit what is open, export it (waiting at most ``close_timeout``), stop. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = self._stopping = True
            self._cond.notify()
        self._thread.join(min(_QUICK_LOOK_S, self._close_timeout))
        unreachable = self._unreachable() if self._thread.is_alive() else None
        if unreachable is None:
            self._thread.join(max(self._close_timeout - _QUICK_LOOK_S, 0.0))
        if self._thread.is_alive():
            # Out of patience, or nothing listens there: report it here, in the caller's thread, and
            # leave the daemon thread to give up on its own (it will not warn again).
            self._warn_once(
                unreachable or f"the endpoint did not take the last spans within {self._close_timeout:g} s",
                stacklevel=3,
            )
            self._abort_exports()
            self._thread.join(0.2)

    def _unreachable(self) -> str | None:
        """Why the endpoint cannot take spans at all (refused, unknown host), None if it might: an
        exporter retries a refused connection until its timeout, which close() need not wait out."""
        if self.settings is None or self.stats.spans_exported:
            return None
        return unreachable(self.settings.traces_endpoint, timeout=0.2)

    @property
    def dropped(self) -> int:
        """Events and spans that did not reach the endpoint."""
        return self.stats.events_dropped + self.stats.spans_dropped

    # -- the background thread -------------------------------------------------------------------
    def _setup(self) -> Pipeline:
        if self._span_exporter is None:
            assert self.settings is not None
            self._span_exporter = make_span_exporter(self.settings)
            metric_exporter = make_metric_exporter(self.settings)
            if metric_exporter is not None:
                self._push = PushReader(metric_exporter)
                self._metric_readers.append(self._push)
        return Pipeline(
            capture_content=self._capture,
            cost_of=live_cost(self._prices),
            metric_readers=self._metric_readers,
            redactor=self._redactor,
        )

    def _work(self) -> None:
        with quiet_exporter_logs():
            try:
                self._pipeline = self._setup()
            except Exception as e:
                self._warn_once(f"the OTLP exporter could not be set up: {e}")
                with self._cond:
                    self._closed = True
                    self.stats.events_dropped += len(self._queue)
                    self._queue.clear()
                return
            next_spans = next_metrics = time.monotonic()
            next_spans += self._delay
            next_metrics += self._metric_interval
            while True:
                with self._cond:
                    if not self._queue and not self._stopping:
                        self._cond.wait(max(0.0, min(next_spans, next_metrics) - time.monotonic()))
                    items = list(self._queue)
                    self._queue.clear()
                    stopping = self._stopping
                try:
                    self._process(items)
                    now = time.monotonic()
                    if now >= next_spans:
                        self._export_spans()
                        next_spans = now + self._delay
                    if now >= next_metrics:
                        self._export_metrics()
                        next_metrics = now + self._metric_interval
                except Exception as e:  # a bug of ours must not stop the thread (flush() would hang)
                    self._warn_once(f"the OTLP exporter failed ({type(e).__name__}: {e})")
                    for item in items:
                        if isinstance(item, _Flush):
                            item.done.set()
                if stopping:
                    break
            self._finish()

    def _process(self, items: list[Event | _Flush]) -> None:
        assert self._pipeline is not None
        for item in items:
            if isinstance(item, _Flush):
                self._export_spans(force=True)
                self._export_metrics()
                item.done.set()
            else:
                self._feed(item)
                if self._pipeline.waiting >= self._max_batch:
                    self._export_spans()

    def _finish(self) -> None:
        assert self._pipeline is not None
        try:
            self._pipeline.finish()
        except Exception as e:
            self._warn_once(f"translating the last events failed: {e}")
        self._export_spans(force=True)
        self._export_metrics()
        try:
            self._pipeline.shutdown()
            if self._span_exporter is not None:
                self._span_exporter.shutdown()
        except Exception:
            pass

    def _feed(self, event: Event) -> None:
        assert self._pipeline is not None
        try:
            self._pipeline.feed(event)
        except Exception as e:
            self._warn_once(f"an {event.kind} event could not be translated ({type(e).__name__}: {e})")

    def _export_spans(self, force: bool = False) -> None:
        pipeline = self._pipeline
        assert pipeline is not None and self._span_exporter is not None
        while pipeline.waiting:
            if time.monotonic() < self._down_until and not force:
                self.stats.spans_dropped += pipeline.drop_waiting()
                return
            batch = pipeline.take_batch(self._max_batch)
            try:
                ok = export_batch(self._span_exporter, batch)
            except Exception as e:
                ok = False
                self.stats.last_error = f"{type(e).__name__}: {e}"
            if ok:
                self.stats.spans_exported += len(batch)
                self._backoff = 1.0
                self._down_until = 0.0
                continue
            self._failed(self._problem() or "the export failed", len(batch))
            self.stats.spans_dropped += pipeline.drop_waiting()
            return

    def _export_metrics(self) -> None:
        if self._push is None or time.monotonic() < max(self._down_until, self._metrics_down_until):
            return
        try:
            self._push.collect(timeout_millis=self.settings.timeout * 1000 if self.settings else 10_000)
            ok = self._push.last_ok
        except Exception as e:
            ok = False
            self.stats.last_error = f"{type(e).__name__}: {e}"
        if ok:
            self._metrics_down_until = 0.0
            return
        self.stats.metric_export_failures += 1
        reason = self._problem() or "the metrics export failed"
        if not_accepted(reason):
            # A traces-only backend (Jaeger, Tempo, Phoenix, Langfuse): stop trying, say so once.
            self._push = None
            self._note_once(
                f"teamtape: {self.settings.metrics_endpoint if self.settings else 'the endpoint'} does not "
                f"accept OTLP metrics ({reason}); spans are still sent. Set OTEL_METRICS_EXPORTER=none to "
                "skip metrics."
            )
            return
        self._metrics_down_until = time.monotonic() + 30.0
        self._warn_once(reason)

    def _note_once(self, message: str) -> None:
        if not self._noted:
            self._noted = True
            warnings.warn(message, OtlpExportWarning, stacklevel=2)

    def _problem(self) -> str | None:
        if self._warned:  # only the first failure is reported: do not probe the endpoint again
            return last_problem() or self.stats.last_error
        return last_problem(self.settings.traces_endpoint if self.settings else None) or self.stats.last_error

    def _failed(self, reason: str, spans: int) -> None:
        """An export failed: count it, pause exporting (backoff), warn once."""
        self.stats.export_failures += 1
        self.stats.spans_dropped += spans
        self._down_until = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 60.0)
        self._warn_once(reason)

    def _warn_once(self, reason: str, stacklevel: int = 2) -> None:
        self.stats.last_error = reason
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"teamtape: could not send telemetry to {self.destination}: {reason}. The team keeps running; "
                "spans are dropped and counted while the endpoint is unreachable, and the store keeps every "
                "event, so `teamtape export otlp` can send them later.",
                OtlpExportWarning,
                stacklevel=stacklevel,
            )

    def _abort_exports(self) -> None:
        """Make a hung export give up (close() is out of patience)."""
        for exporter in (self._span_exporter, self._push.exporter if self._push else None):
            try:
                if exporter is not None:
                    exporter.shutdown()
            except Exception:
                pass
        pipeline = self._pipeline
        if pipeline is not None:
            self.stats.spans_dropped += pipeline.waiting


def otlp_sink_from_env_or_args(
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: str | Mapping[str, str] | None = None,
    **options: Any,
) -> OtlpSink | None:
    """An :class:`OtlpSink` for ``endpoint``, or for the ``OTEL_EXPORTER_OTLP_*`` variables; None when
    neither names an endpoint (or ``OTEL_SDK_DISABLED=true``).

    Raises:
        OtlpError: the endpoint, protocol or headers are malformed (the message says which and why).

    Example:
        >>> import os
        >>> os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None) and None
        >>> otlp_sink_from_env_or_args() is None
        True
    """
    if resolve_settings(endpoint, protocol, headers, options.get("timeout")) is None:
        return None
    return OtlpSink(endpoint, protocol, headers, **options)
