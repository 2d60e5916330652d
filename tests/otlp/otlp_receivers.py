"""Real OTLP receivers for tests: an HTTP/protobuf server and a gRPC server that decode what they get.

Both keep the raw request bytes (to prove what is, and is not, on the wire) and the decoded
opentelemetry-proto requests, and can be told to answer slowly or with an error.
"""

from __future__ import annotations

import gzip
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def any_value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


def attrs(key_values: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in key_values}


@dataclass
class WireSpan:
    """A span as it arrived, decoded from protobuf."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    status_code: int
    status_message: str
    resource: dict[str, Any]
    scope: str


@dataclass
class Received:
    """Everything a receiver got."""

    raw: list[bytes] = field(default_factory=list)
    traces: list[trace_service_pb2.ExportTraceServiceRequest] = field(default_factory=list)
    metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[WireSpan]:
        out = []
        with self.lock:
            requests = list(self.traces)
        for request in requests:
            for rs in request.resource_spans:
                resource = attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        out.append(
                            WireSpan(
                                s.name,
                                s.trace_id.hex(),
                                s.span_id.hex(),
                                s.parent_span_id.hex(),
                                s.kind,
                                s.start_time_unix_nano,
                                s.end_time_unix_nano,
                                attrs(s.attributes),
                                [(e.name, attrs(e.attributes)) for e in s.events],
                                s.status.code,
                                s.status.message,
                                resource,
                                ss.scope.name,
                            )
                        )
        return out

    def metric_names(self) -> set[str]:
        with self.lock:
            requests = list(self.metrics)
        return {
            m.name
            for r in requests
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }

    def metric(self, name: str) -> Any:
        with self.lock:
            requests = list(self.metrics)
        for r in requests:
            for rm in r.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        if m.name == name:
                            return m
        return None

    def all_bytes(self) -> bytes:
        with self.lock:
            return b"".join(self.raw)

    def wait_for_spans(self, n: int, timeout: float = 10.0) -> list[WireSpan]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans()
            if len(spans) >= n:
                return spans
            time.sleep(0.02)
        return self.spans()


class HttpReceiver:
    """An OTLP/HTTP (protobuf) receiver on 127.0.0.1, answering like a Collector."""

    def __init__(self, status: int = 200, delay_s: float = 0.0, metrics_status: int | None = None) -> None:
        self.got = Received()
        self.status = status
        self.metrics_status = status if metrics_status is None else metrics_status
        self.delay_s = delay_s
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                status = owner.metrics_status if self.path.endswith("/v1/metrics") else owner.status
                with owner.got.lock:
                    owner.got.raw.append(body)
                    owner.got.headers.append({k.lower(): v for k, v in self.headers.items()})
                    if status == 200:
                        if self.path.endswith("/v1/traces"):
                            owner.got.traces.append(
                                trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                            )
                        elif self.path.endswith("/v1/metrics"):
                            owner.got.metrics.append(
                                metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                            )
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class GrpcReceiver:
    """An OTLP/gRPC receiver (TraceService and MetricsService) on 127.0.0.1."""

    def __init__(self, metrics: bool = True) -> None:
        self.got = Received()
        got = self.got

        def keep(request: Any, context: grpc.ServicerContext, bucket: list[Any]) -> None:
            with got.lock:
                got.raw.append(request.SerializeToString())
                got.headers.append({k: v for k, v in context.invocation_metadata()})
                bucket.append(request)

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
                keep(request, context, got.traces)
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
                keep(request, context, got.metrics)
                return metrics_service_pb2.ExportMetricsServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._server)
        if metrics:  # without it, metric exports get UNIMPLEMENTED, as from Jaeger or Tempo
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GrpcReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)


class SilentServer:
    """Accepts TCP connections and never answers: the slowest endpoint there is."""

    def __init__(self) -> None:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._conns: list[Any] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._sock.close()
        for c in self._conns:
            c.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
