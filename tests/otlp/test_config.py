"""Where spans go: arguments first, then the standard OTEL_EXPORTER_OTLP_* variables."""

from __future__ import annotations

import pytest

from teamtape.recorder.otlp import (
    OtlpError,
    capture_content_from_env,
    otlp_sink_from_env_or_args,
    resolve_settings,
)


def test_an_endpoint_argument_is_a_base_url_like_the_standard_variable() -> None:
    s = resolve_settings("http://collector:4318", environ={})
    assert (s.protocol, s.traces_endpoint, s.metrics_endpoint) == (
        "http/protobuf",
        "http://collector:4318/v1/traces",
        "http://collector:4318/v1/metrics",
    )
    langfuse = resolve_settings("https://cloud.langfuse.com/api/public/otel/", environ={})
    assert langfuse.traces_endpoint == "https://cloud.langfuse.com/api/public/otel/v1/traces"
    full = resolve_settings("http://collector:4318/v1/traces", environ={})
    assert full.metrics_endpoint == "http://collector:4318/v1/metrics"


def test_port_4317_means_grpc_unless_told_otherwise() -> None:
    assert resolve_settings("localhost:4317", environ={}).protocol == "grpc"
    assert resolve_settings("localhost:4317", environ={}).traces_endpoint == "http://localhost:4317"
    assert resolve_settings("http://localhost:4317", "http/protobuf", environ={}).protocol == "http/protobuf"
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert resolve_settings("http://collector:9000", environ=env).traces_endpoint == "http://collector:9000"


def test_the_standard_variables_are_honoured() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:9090/otlp/v1/metrics",
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Basic%20abc%3D%3D,x-tenant=acme",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
    }
    s = resolve_settings(environ=env)
    assert s.traces_endpoint == "http://otel:4318/v1/traces"
    assert s.metrics_endpoint == "http://metrics:9090/otlp/v1/metrics"
    assert s.headers == {"authorization": "Basic abc==", "x-tenant": "acme"}
    assert s.timeout == 2.5
    specific = resolve_settings(environ={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://tempo:4318/v1/traces"})
    assert specific.traces_endpoint == "http://tempo:4318/v1/traces" and specific.metrics_endpoint is None
    assert resolve_settings(environ={**env, "OTEL_METRICS_EXPORTER": "none"}).metrics_endpoint is None


def test_an_argument_wins_over_the_environment() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_EXPORTER_OTLP_HEADERS": "a=b"}
    s = resolve_settings("http://mine:4318", headers={"X-Key": "1"}, environ=env)
    assert s.traces_endpoint == "http://mine:4318/v1/traces" and s.headers == {"x-key": "1"}


def test_nothing_configured_means_no_sink(monkeypatch) -> None:
    assert resolve_settings(environ={}) is None
    assert otlp_sink_from_env_or_args() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert otlp_sink_from_env_or_args() is None


def test_the_environment_alone_can_turn_the_sink_on(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    sink = otlp_sink_from_env_or_args(timeout=0.1)
    assert sink is not None and sink.destination == "http://127.0.0.1:9/v1/traces (http/protobuf)"
    sink.close()


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        ({"endpoint": "ftp://collector"}, {}, "is not a URL like http://localhost:4318"),
        ({"endpoint": "http://"}, {}, "is not a URL"),
        ({"endpoint": "   "}, {}, "The OTLP endpoint is empty"),
        ({"endpoint": "http://c:99999"}, {}, "invalid port"),
        ({"endpoint": "http://c:4318", "protocol": "http/json"}, {}, "http/json is not supported"),
        (
            {},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "udp"},
            "'udp' from OTEL_EXPORTER_OTLP_PROTOCOL is not one of: grpc, http/protobuf",
        ),
        (
            {"endpoint": "http://c", "headers": "novalue"},
            {},
            "'novalue' in the headers argument is not of the form",
        ),
        (
            {},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"},
            "is not a number",
        ),
    ],
)
def test_bad_settings_say_what_is_wrong(kwargs, env, expected) -> None:
    with pytest.raises(OtlpError, match=expected.replace("(", r"\(")):
        resolve_settings(**kwargs, environ=env)


def test_headers_never_appear_in_descriptions() -> None:
    s = resolve_settings("http://c:4318", headers={"authorization": "Basic c2VjcmV0"}, environ={})
    assert "c2VjcmV0" not in s.describe() and "c2VjcmV0" not in repr(s)


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("SPAN_ONLY", True),
        ("false", False),
        ("", False),
        ("NO_CONTENT", False),
    ],
)
def test_content_capture_follows_the_genai_variable(value, on) -> None:
    assert capture_content_from_env({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}) is on
