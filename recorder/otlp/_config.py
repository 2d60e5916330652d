"""Where and how to send: endpoint, protocol, headers and timeout from arguments or ``OTEL_*`` variables.

Precedence follows the OpenTelemetry specification: an explicit argument, then the signal-specific
variable (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``...), then the generic one
(``OTEL_EXPORTER_OTLP_ENDPOINT``...). An endpoint given as an argument is a *base* URL, like
``OTEL_EXPORTER_OTLP_ENDPOINT``: ``/v1/traces`` and ``/v1/metrics`` are appended for HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from teamtape.store import TeamtapeError

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
PROTOCOLS = (GRPC, HTTP_PROTOBUF)
DEFAULT_TIMEOUT_S = 10.0
_SIGNAL_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics"}
_TRUE = {"1", "true", "yes", "on"}
_CONTENT_ON = _TRUE | {"span_only", "span_and_event"}


class OtlpError(TeamtapeError):
    """The OTLP export is misconfigured or the endpoint did not accept what was sent."""


@dataclass(frozen=True)
class OtlpSettings:
    """A resolved OTLP destination. Headers are never shown in messages (they often hold keys)."""

    protocol: str
    traces_endpoint: str
    metrics_endpoint: str | None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float = DEFAULT_TIMEOUT_S

    def describe(self) -> str:
        return f"{self.traces_endpoint} ({self.protocol})"


def _env(environ: Mapping[str, str], signal: str, name: str) -> str | None:
    for key in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        value = environ.get(key, "").strip()
        if value:
            return value
    return None


def _check_url(url: str, source: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in parts.netloc):
        raise OtlpError(
            f"The OTLP endpoint {url!r} (from {source}) is not a URL like http://localhost:4318 "
            "(HTTP) or http://localhost:4317 (gRPC)."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise OtlpError(
            f"The OTLP endpoint {url!r} (from {source}) has an invalid port: give a URL like "
            "http://localhost:4318 (HTTP) or http://localhost:4317 (gRPC)."
        ) from None
    return url


def _protocol(arg: str | None, environ: Mapping[str, str], signal: str, endpoint: str) -> str:
    value = arg or _env(environ, signal, "PROTOCOL")
    if value is None:
        return GRPC if urlsplit(endpoint).port == 4317 else HTTP_PROTOBUF
    value = value.strip().lower()
    if value == "http":
        value = HTTP_PROTOBUF
    if value not in PROTOCOLS:
        source = "--protocol" if arg else "OTEL_EXPORTER_OTLP_PROTOCOL"
        hint = " (http/json is not supported)" if value == "http/json" else ""
        raise OtlpError(f"OTLP protocol {value!r} from {source} is not one of: {', '.join(PROTOCOLS)}{hint}.")
    return value


def _signal_endpoint(base: str | None, signal_specific: str | None, protocol: str, signal: str) -> str | None:
    """The URL for one signal: a signal-specific URL as is, a base URL with the signal path for HTTP."""
    if signal_specific:
        return signal_specific
    if base is None:
        return None
    if protocol == GRPC:
        return base
    trimmed = base.rstrip("/")
    for path in _SIGNAL_PATHS.values():
        if trimmed.endswith(path):
            trimmed = trimmed[: -len(path)]
    return trimmed + _SIGNAL_PATHS[signal]


def parse_headers(value: str | Mapping[str, str] | None, source: str = "headers") -> dict[str, str]:
    """``k=v,k2=v2`` (values may be URL-encoded, as in ``OTEL_EXPORTER_OTLP_HEADERS``) or a mapping."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k).strip().lower(): str(v) for k, v in value.items()}
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise OtlpError(f"OTLP header {key.strip()!r} in {source} is not of the form name=value.")
        out[unquote(key).strip().lower()] = unquote(val).strip()
    return out


def _timeout(arg: float | None, environ: Mapping[str, str]) -> float:
    if arg is not None:
        return float(arg)
    raw = _env(environ, "traces", "TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise OtlpError(f"OTEL_EXPORTER_OTLP_TIMEOUT={raw!r} is not a number of seconds.") from None
    # The specification says milliseconds; the Python SDK historically read seconds. Values this
    # large can only be milliseconds.
    return value / 1000 if value > 1000 else value


def resolve_settings(
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: str | Mapping[str, str] | None = None,
    timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> OtlpSettings | None:
    """The destination from arguments and environment, or None when nothing says where to send.

    Raises:
        OtlpError: an endpoint, protocol, header or timeout that cannot be used.

    Example:
        >>> s = resolve_settings("http://localhost:4318", environ={})
        >>> s.traces_endpoint, s.metrics_endpoint, s.protocol
        ('http://localhost:4318/v1/traces', 'http://localhost:4318/v1/metrics', 'http/protobuf')
        >>> resolve_settings("localhost:4317", environ={}).protocol
        'grpc'
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return None
    if endpoint is not None and not endpoint.strip():
        raise OtlpError("The OTLP endpoint is empty. Give a URL such as http://localhost:4318.")
    base = _check_url(endpoint, "the endpoint argument") if endpoint else None
    traces_env = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip() or None
    if base is None:
        generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or None
        base = _check_url(generic, "OTEL_EXPORTER_OTLP_ENDPOINT") if generic else None
        traces_specific = _check_url(traces_env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") if traces_env else None
        metrics_env = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "").strip() or None
        metrics_specific = (
            _check_url(metrics_env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") if metrics_env else None
        )
    else:
        traces_specific = metrics_specific = None
    probe = traces_specific or base
    if probe is None:
        return None
    proto = _protocol(protocol, env, "traces", probe)
    traces = _signal_endpoint(base, traces_specific, proto, "traces")
    metrics = _signal_endpoint(base, metrics_specific, proto, "metrics")
    if env.get("OTEL_METRICS_EXPORTER", "").strip().lower() == "none":
        metrics = None
    header_source = "the headers argument" if headers is not None else "OTEL_EXPORTER_OTLP_HEADERS"
    raw_headers = headers if headers is not None else _env(env, "traces", "HEADERS")
    assert traces is not None
    return OtlpSettings(
        proto, traces, metrics, parse_headers(raw_headers, header_source), _timeout(timeout, env)
    )


def capture_content_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for message content."""
    env = os.environ if environ is None else environ
    return env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower() in _CONTENT_ON


def make_span_exporter(settings: OtlpSettings) -> Any:
    """The OpenTelemetry SDK span exporter for these settings."""
    if settings.protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter(
            endpoint=settings.traces_endpoint, headers=settings.headers or None, timeout=settings.timeout
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    return HttpSpanExporter(
        endpoint=settings.traces_endpoint, headers=settings.headers or None, timeout=settings.timeout
    )


def make_metric_exporter(settings: OtlpSettings) -> Any:
    """The OpenTelemetry SDK metric exporter for these settings (None when metrics are off)."""
    if settings.metrics_endpoint is None:
        return None
    if settings.protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        return GrpcMetricExporter(
            endpoint=settings.metrics_endpoint, headers=settings.headers or None, timeout=settings.timeout
        )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter(
        endpoint=settings.metrics_endpoint, headers=settings.headers or None, timeout=settings.timeout
    )
