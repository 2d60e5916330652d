"""An endpoint that is down, slow or answering errors never slows the team; one warning; drops counted."""

from __future__ import annotations

import time
import warnings

import pytest
from otlp_receivers import GrpcReceiver, HttpReceiver, SilentServer, free_port
from otlp_runs import support_run, write_events

from teamtape.recorder.otlp import OtlpError, OtlpExportWarning, OtlpSink, export_runs
from teamtape.store import Event, open_store

PROTOCOLS = ["http/protobuf", "grpc"]


def many_runs(n: int) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        events += support_run(f"{i:016x}", f"c{i:015x}")
    return events


def feed(sink: OtlpSink, events: list[Event]) -> tuple[float, float]:
    """Hand every event to the sink as the recorder would; returns (worst, mean) seconds per call."""
    worst, start = 0.0, time.perf_counter()
    for event in events:
        t = time.perf_counter()
        sink.handle(event)
        worst = max(worst, time.perf_counter() - t)
    return worst, (time.perf_counter() - start) / len(events)


def otlp_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, OtlpExportWarning)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_endpoint_that_is_down_costs_the_team_nothing(protocol) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    events = many_runs(20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sink = OtlpSink(endpoint, protocol, timeout=0.5, schedule_delay=0.02)
        worst, mean = feed(sink, events)
        sink.flush(5)
        for event in many_runs(2):  # more runs after the failure: still no second warning
            sink.handle(event)
        started = time.perf_counter()
        sink.close()
        closing = time.perf_counter() - started
    assert worst < 0.01 and mean < 0.0005, (worst, mean)
    assert closing < 2.0
    messages = otlp_warnings(caught)
    assert len(messages) == 1, messages
    assert endpoint in messages[0] and "teamtape export otlp" in messages[0]
    assert sink.stats.spans_exported == 0
    assert sink.stats.spans_dropped == 22 * 15  # every span made is counted as dropped
    assert sink.dropped >= sink.stats.spans_dropped


PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "grpc_proxy",
)


def test_closing_on_an_endpoint_nothing_listens_on_is_quick_and_says_why(monkeypatch) -> None:
    """The exporter retries a refused connection until its own timeout (10 s by default): the end of a
    recording need not wait that out, and the warning names the cause, not the wait."""
    for name in PROXY_VARIABLES:  # no proxy in between: a refused direct connection is the answer
        monkeypatch.delenv(name, raising=False)
    endpoint = f"http://127.0.0.1:{free_port()}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sink = OtlpSink(endpoint, "http/protobuf")
        for event in many_runs(2):
            sink.handle(event)
        started = time.perf_counter()
        sink.close()
        closing = time.perf_counter() - started
    assert closing < 1.5, closing
    messages = otlp_warnings(caught)
    assert len(messages) == 1 and "connection refused: nothing listens on 127.0.0.1" in messages[0], messages


def test_a_slow_endpoint_never_blocks_and_memory_stays_bounded() -> None:
    events = many_runs(40)
    with SilentServer() as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sink = OtlpSink(
            server.endpoint,
            "http/protobuf",
            timeout=2.0,
            max_queue=100,
            schedule_delay=0.005,
            close_timeout=0.5,
        )
        time.sleep(0.05)  # let the first export start and hang
        worst, mean = feed(sink, events)
        assert worst < 0.01 and mean < 0.0005, (worst, mean)
        assert (
            len(sink._queue) <= 100 + 4 * 40
        )  # the bound, plus the start and end events of both runs of each
        started = time.perf_counter()
        sink.close()
        closing = time.perf_counter() - started
    assert closing < 2.0
    assert sink.stats.events_dropped > 0
    assert sink.stats.spans_exported == 0
    messages = otlp_warnings(caught)
    assert len(messages) == 1 and "did not take the last spans within 0.5 s" in messages[0], messages


def test_an_endpoint_answering_errors_is_reported_once_with_its_answer() -> None:
    with HttpReceiver(status=401) as rx, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sink = OtlpSink(rx.endpoint, "http/protobuf", schedule_delay=0.01)
        for event in many_runs(3):
            sink.handle(event)
        sink.close()
    messages = otlp_warnings(caught)
    assert len(messages) == 1 and "401" in messages[0], messages
    assert sink.stats.spans_dropped == 45 and sink.stats.export_failures >= 1


def test_a_closed_sink_ignores_events_and_close_is_idempotent() -> None:
    sink = OtlpSink(f"http://127.0.0.1:{free_port()}", timeout=0.2)
    sink.close()
    sink.close()
    sink.handle(support_run()[0])
    assert sink.stats.events_dropped == 1
    assert sink.flush(0.1) is False


@pytest.mark.parametrize(
    ("protocol", "reason"), [("http/protobuf", "connection refused"), ("grpc", "connection refused")]
)
def test_export_to_an_endpoint_that_is_down_says_what_to_check(
    tmp_path, monkeypatch, protocol, reason
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    store = open_store(tmp_path / "store", create=True)
    write_events(store, support_run())
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.perf_counter()
    with pytest.raises(OtlpError) as error:
        export_runs(store, None, endpoint, protocol)  # the exporters' own timeout: 10 s
    assert time.perf_counter() - started < 2, "nothing listens there: no need to wait out the retries"
    message = str(error.value)
    assert endpoint.removeprefix("http://") in message and reason.lower() in message.lower()
    assert "Re-running the export sends no span twice" in message


@pytest.mark.parametrize(("protocol", "answer"), [("http/protobuf", "404"), ("grpc", "UNIMPLEMENTED")])
def test_a_traces_only_backend_gets_every_span_and_one_note_about_metrics(protocol, answer) -> None:
    receiver = (
        HttpReceiver(metrics_status=404) if protocol == "http/protobuf" else GrpcReceiver(metrics=False)
    )
    with receiver as rx, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sink = OtlpSink(rx.endpoint, protocol, schedule_delay=0.01, metric_interval=0.01)
        for event in many_runs(3):
            sink.handle(event)
            time.sleep(0.001)
        sink.close()
        metric_posts = len(rx.got.raw) - len(rx.got.traces)
    assert sink.stats.spans_exported == 45 and sink.dropped == 0
    messages = otlp_warnings(caught)
    assert len(messages) == 1 and "does not accept OTLP metrics" in messages[0] and answer in messages[0], (
        messages
    )
    if protocol == "http/protobuf":
        assert metric_posts == 1  # tried once, then stopped


@pytest.mark.parametrize(("protocol", "answer"), [("http/protobuf", "404"), ("grpc", "UNIMPLEMENTED")])
def test_export_with_metrics_to_a_traces_only_backend_sends_the_spans_and_says_so(
    tmp_path, protocol, answer
) -> None:
    store = open_store(tmp_path / "store", create=True)
    write_events(store, support_run())
    receiver = (
        HttpReceiver(metrics_status=404) if protocol == "http/protobuf" else GrpcReceiver(metrics=False)
    )
    with receiver as rx:
        report = export_runs(store, None, rx.endpoint, protocol, metrics=True)
        spans = len(rx.got.spans())
    assert report.spans == spans > 0, "the export went through"
    assert not report.metrics and report.note is not None
    assert "does not accept OTLP metrics" in report.note and answer in report.note


def test_an_endpoint_behind_a_proxy_is_not_judged_by_a_direct_connection(monkeypatch) -> None:
    """The exporters go through HTTP(S)_PROXY: that a direct connection fails says nothing."""
    from teamtape.recorder.otlp._quiet import unreachable

    refused = f"http://127.0.0.1:{free_port()}/v1/traces"
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert unreachable(refused, 0.2) is not None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert unreachable(refused, 0.2) is None
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert unreachable(refused, 0.2) is not None, "a host the proxy is bypassed for is judged directly"
