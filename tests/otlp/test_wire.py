"""Real OTLP bytes to real receivers (HTTP/protobuf and gRPC), decoded with opentelemetry-proto."""

from __future__ import annotations

import pytest
from otlp_runs import SECRET, support_run, write_events

from teamtape.recorder.otlp import OtlpSink, export_runs
from teamtape.recorder.otlp import semconv as sc
from teamtape.store import open_store

PROTOCOLS = ["http/protobuf", "grpc"]


@pytest.fixture(params=PROTOCOLS)
def receiver(request):
    name = "http_receiver" if request.param == "http/protobuf" else "grpc_receiver"
    return request.getfixturevalue(name), request.param


def test_live_sink_sends_spans_and_metrics_over_the_wire(receiver) -> None:
    rx, protocol = receiver
    sink = OtlpSink(rx.endpoint, protocol, headers={"x-team": "payments"})
    for event in support_run():
        sink.handle(event)
    sink.close()
    spans = rx.got.spans()
    assert len(spans) == 15
    names = {s.name for s in spans}
    assert {
        "invoke_workflow support",
        "invoke_agent triage",
        "execute_tool lookup_order",
        "retrieval policies",
        "chat claude-3-5-sonnet-20241022",
        "invoke_workflow researcher",
    } <= names
    root = next(s for s in spans if s.name == "invoke_workflow support")
    assert (
        root.parent_span_id == "" and root.resource["service.name"] == "teamtape" and root.scope == "teamtape"
    )
    assert root.attributes[sc.GEN_AI_CONVERSATION_ID] == "session-1"
    assert [name for name, _ in root.events][-1] == sc.EVENT_TERMINATION
    chat = next(s for s in spans if s.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS) == 130)
    assert chat.kind == 3  # SPAN_KIND_CLIENT
    assert chat.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["function_calls"]
    assert {
        sc.METRIC_TOKEN_USAGE,
        sc.METRIC_OPERATION_DURATION,
        sc.METRIC_COST,
        sc.METRIC_RUNS,
        sc.METRIC_RUN_DURATION,
    } <= rx.got.metric_names()
    usage = rx.got.metric(sc.METRIC_TOKEN_USAGE)
    assert list(usage.histogram.data_points[0].explicit_bounds) == list(sc.TOKEN_USAGE_BUCKETS)
    assert all(h.get("x-team") == "payments" for h in rx.got.headers)
    assert sink.stats.spans_exported == 15 and sink.dropped == 0


def test_a_planted_secret_never_reaches_the_wire(receiver, monkeypatch) -> None:
    rx, protocol = receiver
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345678")  # a secret env var: scrubbed by value
    events = support_run()
    events[1].payload["data"]["content"] += " and tok-abcdefgh12345678"
    sink = OtlpSink(rx.endpoint, protocol, capture_content=True)
    for event in events:
        sink.handle(event)
    sink.close()
    wire = rx.got.all_bytes()
    assert b"Refund order 4711" in wire  # content was opted in...
    assert SECRET.encode() not in wire  # ...but secrets never travel
    assert b"tok-abcdefgh12345678" not in wire
    assert b"[REDACTED]" in wire


def test_without_opting_in_no_content_is_on_the_wire(http_receiver) -> None:
    sink = OtlpSink(http_receiver.endpoint)
    for event in support_run():
        sink.handle(event)
    sink.close()
    wire = http_receiver.got.all_bytes()
    assert (
        wire
        and b"Refund order" not in wire
        and b"You are triage" not in wire
        and b"Refunds within" not in wire
    )


def test_export_from_the_store_is_idempotent_and_matches_the_live_spans(receiver, tmp_path) -> None:
    rx, protocol = receiver
    store = open_store(tmp_path / "store", create=True)
    write_events(store, support_run())
    live = OtlpSink(rx.endpoint, protocol)
    for event in support_run():
        live.handle(event)
    live.close()
    live_spans = rx.got.spans()
    first = export_runs(store, ["a1a1"], rx.endpoint, protocol)
    second = export_runs(store, None, rx.endpoint, protocol)
    assert first.spans == second.spans == 15
    assert sorted(first.runs) == sorted(second.runs) == ["a1a1a1a1a1a1a1a1", "c2c2c2c2c2c2c2c2"]
    spans = rx.got.spans()
    assert len(spans) == 45

    def key(s):
        return (s.name, s.trace_id, s.span_id, s.parent_span_id, s.start_ns, s.end_ns)

    assert sorted(map(key, spans[15:30])) == sorted(map(key, spans[30:])) == sorted(map(key, live_spans))
    # and the store's cost (what `teamtape cost` shows) is what the spans carry
    costs = {s.span_id: s.attributes.get(sc.TT_COST_USD) for s in spans[15:30]}
    assert costs == {s.span_id: s.attributes.get(sc.TT_COST_USD) for s in live_spans}


def test_exporting_one_nested_run_keeps_it_in_its_parents_trace(http_receiver, tmp_path) -> None:
    store = open_store(tmp_path / "store", create=True)
    write_events(store, support_run())
    report = export_runs(store, ["c2c2"], http_receiver.endpoint)
    assert report.runs == ["c2c2c2c2c2c2c2c2"]
    spans = http_receiver.got.spans()
    root = next(s for s in spans if s.name == "invoke_workflow researcher")
    assert {s.trace_id for s in spans} == {root.trace_id}
    from teamtape.recorder.otlp import trace_id_for

    assert root.trace_id == f"{trace_id_for('a1a1a1a1a1a1a1a1'):032x}"
