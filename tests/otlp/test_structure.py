"""The span tree and metrics one recorded run becomes (in-memory exporter and metric reader)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otlp_runs import SECRET, T0, RunScript, support_run

from teamtape.recorder.otlp import run_span_id, trace_id_for
from teamtape.recorder.otlp import semconv as sc


def test_the_run_becomes_a_tree_of_genai_spans(translate) -> None:
    got = translate(support_run())
    root = got.one("invoke_workflow support")
    assert root.parent is None
    assert got.children(root) == [
        "chat gpt-4o-mini",  # the selector's call belongs to no agent turn
        "invoke_agent billing",
        "invoke_agent triage",
    ]
    triage = got.one("invoke_agent triage")
    assert got.children(triage) == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "execute_tool lookup_order",
        "retrieval policies",
    ]
    billing = got.one("invoke_agent billing")
    assert got.children(billing) == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "chat my-finetune-v3",
        "execute_tool researcher",
    ]
    # The AgentTool's nested run hangs under the tool call that started it, in the same trace.
    nested = got.one("invoke_workflow researcher")
    assert got.parent_of(nested) is got.one("execute_tool researcher")
    assert got.children(got.one("invoke_agent researcher")) == ["chat claude-3-5-sonnet-20241022"]
    assert {s.context.trace_id for s in got.spans} == {trace_id_for("a1a1a1a1a1a1a1a1")}
    assert root.context.span_id == run_span_id("a1a1a1a1a1a1a1a1")


def test_spans_keep_the_recorded_times(translate) -> None:
    got = translate(support_run())
    tool = got.one("execute_tool lookup_order")
    assert tool.start_time == round((T0 + 0.43) * 1e6) * 1000
    assert tool.end_time - tool.start_time == 20_000_000
    root = got.one("invoke_workflow support")
    assert (root.start_time, root.end_time) == (round(T0 * 1e6) * 1000, round((T0 + 1.05) * 1e6) * 1000)


def test_chat_span_carries_the_genai_and_openinference_attributes(translate) -> None:
    got = translate(support_run())
    chat = next(
        s for s in got.named("chat gpt-4o-mini") if s.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS) == 130
    )
    a = chat.attributes
    assert chat.kind == SpanKind.CLIENT
    assert a[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert a[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert a[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert a[sc.GEN_AI_RESPONSE_ID].startswith("chatcmpl-")
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("function_calls",)
    assert (a[sc.GEN_AI_USAGE_OUTPUT_TOKENS], a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]) == (12, 64)
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[sc.GEN_AI_AGENT_NAME] == "triage"
    assert a[sc.GEN_AI_CONVERSATION_ID] == "session-1"
    assert a[sc.TT_COST_USD] > 0 and a[sc.GEN_AI_USAGE_COST] == a[sc.TT_COST_USD]
    assert a[sc.OI_SPAN_KIND] == "LLM"
    assert (a[sc.OI_LLM_TOKEN_COUNT_PROMPT], a[sc.OI_LLM_TOKEN_COUNT_TOTAL]) == (130, 142)
    assert a[sc.OI_LLM_MODEL_NAME] == "gpt-4o-mini-2024-07-18"


def test_a_model_no_price_source_knows_has_no_cost_rather_than_zero(translate) -> None:
    got = translate(support_run())
    unknown = got.one("chat my-finetune-v3")
    assert sc.TT_COST_USD not in unknown.attributes
    assert sc.GEN_AI_USAGE_COST not in unknown.attributes
    # The run's cost adds only what is known: the run says how many calls it leaves out.
    run = next(s for s in got.named("invoke_workflow support") if s.attributes.get(sc.TT_COST_USD))
    assert run.attributes[sc.TT_UNPRICED_CALLS] == 1


def test_failures_are_errors_with_their_type(translate) -> None:
    got = translate(support_run())
    failed = next(s for s in got.named("chat gpt-4o-mini") if sc.ERROR_TYPE in s.attributes)
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes[sc.ERROR_TYPE] == "RateLimitError"
    assert "Rate limit reached" in failed.status.description
    # The SDK's own attempts before it gave up: how many, and after what.
    assert failed.attributes[sc.TT_LLM_RETRIES] == 2
    assert failed.attributes[sc.TT_LLM_RETRIED_AFTER] == ("HTTP 429", "ConnectTimeout")
    assert not any(
        sc.TT_LLM_RETRIES in s.attributes for s in got.named("chat gpt-4o-mini") if s is not failed
    )
    billing = got.one("invoke_agent billing")
    assert billing.status.status_code == StatusCode.ERROR
    assert got.one("invoke_agent triage").status.status_code == StatusCode.UNSET


def test_run_span_has_conversation_totals_and_events_for_handoffs_selection_and_termination(
    translate,
) -> None:
    got = translate(support_run())
    root = got.one("invoke_workflow support")
    a = root.attributes
    assert a[sc.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert a[sc.GEN_AI_WORKFLOW_NAME] == "support"
    assert a[sc.GEN_AI_CONVERSATION_ID] == a[sc.SESSION_ID] == "session-1"
    assert a[sc.TT_TEAM_TYPE] == "Swarm" and a[sc.TT_RUN_STATUS] == "ok"
    assert a[sc.TT_LABEL_PREFIX + "env"] == "ci"
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 130 + 160 + 90 + 70 + 20
    assert a[sc.OI_SPAN_KIND] == "CHAIN"
    events = [(e.name, dict(e.attributes)) for e in root.events]
    assert (sc.EVENT_HANDOFF, {sc.TT_HANDOFF_SOURCE: "triage", sc.TT_HANDOFF_TARGET: "billing"}) in events
    selected = [e[1][sc.TT_SELECTED] for e in events if e[0] == sc.EVENT_SPEAKER_SELECTION]
    assert selected == [("triage",), ("billing",)]
    assert events[-1] == (
        sc.EVENT_TERMINATION,
        {sc.TT_RUN_STATUS: "ok", sc.TT_STOP_REASON: "Handoff to user from billing detected."},
    )


def test_tool_and_retrieval_spans(translate) -> None:
    got = translate(support_run())
    tool = got.one("execute_tool researcher").attributes
    assert (tool[sc.GEN_AI_TOOL_NAME], tool[sc.GEN_AI_TOOL_CALL_ID], tool[sc.GEN_AI_TOOL_TYPE]) == (
        "researcher",
        "call_2",
        "function",
    )
    assert (tool[sc.TT_TOOL_KIND], tool[sc.TT_CHILD_RUN_ID], tool[sc.OI_SPAN_KIND]) == (
        "agent",
        "c2c2c2c2c2c2c2c2",
        "TOOL",
    )
    memory = got.one("retrieval policies").attributes
    assert (
        memory[sc.GEN_AI_OPERATION_NAME],
        memory[sc.GEN_AI_DATA_SOURCE_ID],
        memory[sc.TT_MEMORY_N_RESULTS],
    ) == ("retrieval", "policies", 1)
    assert memory[sc.OI_SPAN_KIND] == "RETRIEVER"


def _all_text(got) -> str:
    parts = []
    for s in got.spans:
        parts += [str(v) for v in s.attributes.values()]
        parts += [str(v) for e in s.events for v in e.attributes.values()]
        parts.append(s.status.description or "")
    return "\n".join(parts)


def test_content_stays_out_unless_opted_in(translate) -> None:
    text = _all_text(translate(support_run()))
    for content in (
        "Refund order 4711",
        "You are triage",
        "order 4711: paid",
        "Refunds within 30 days",
        "Handing over to billing",
        "refund policy",
        "Transferred to billing",
    ):
        assert content not in text
    chat = translate(support_run()).named("chat gpt-4o-mini")[0]
    assert sc.GEN_AI_INPUT_MESSAGES not in chat.attributes


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_opted_in_content_uses_genai_messages_and_openinference(translate, monkeypatch, how) -> None:
    if how == "environment":
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        got = translate(support_run())
    else:
        got = translate(support_run(), capture_content=True)
    chat = next(
        s for s in got.named("chat gpt-4o-mini") if s.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS) == 130
    )
    a = chat.attributes
    inputs = json.loads(a[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[0] == {"role": "system", "parts": [{"type": "text", "content": "You are triage."}]}
    assert inputs[1]["role"] == "user" and inputs[1]["parts"][0]["content"].startswith("Refund order 4711.")
    outputs = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs == [
        {
            "role": "assistant",
            "finish_reason": "tool_call",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "lookup_order", "arguments": {"order": 4711}}
            ],
        }
    ]
    assert json.loads(a[sc.GEN_AI_TOOL_DEFINITIONS])[0]["name"] == "lookup_order"
    assert a["llm.input_messages.0.message.role"] == "system"
    assert a["llm.input_messages.0.message.content"] == "You are triage."
    assert a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "lookup_order"
    tool = got.one("execute_tool lookup_order").attributes
    assert json.loads(tool[sc.GEN_AI_TOOL_CALL_ARGUMENTS])["order"] == 4711
    assert tool[sc.GEN_AI_TOOL_CALL_RESULT] == "order 4711: paid, 30 EUR"
    memory = got.one("retrieval policies").attributes
    assert memory[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "refund policy"
    assert memory["retrieval.documents.0.document.content"] == "Refunds within 30 days."
    root = got.one("invoke_workflow support").attributes
    assert root[sc.OI_INPUT_VALUE].startswith("Refund order 4711.")
    assert root[sc.OI_OUTPUT_VALUE] == "Transferred to billing."


def test_a_secret_in_content_is_scrubbed_even_when_content_is_captured(translate) -> None:
    text = _all_text(translate(support_run(), capture_content=True))
    assert "Refund order 4711" in text
    assert SECRET not in text
    assert "[REDACTED]" in text


def test_metrics_follow_the_genai_conventions(translate) -> None:
    got = translate(support_run())
    usage = got.metric(sc.METRIC_TOKEN_USAGE)
    assert usage.unit == "{token}"
    points = usage.data.data_points
    assert tuple(points[0].explicit_bounds) == sc.TOKEN_USAGE_BUCKETS
    by_type = {}
    for p in points:
        by_type[p.attributes[sc.GEN_AI_TOKEN_TYPE]] = (
            by_type.get(p.attributes[sc.GEN_AI_TOKEN_TYPE], 0) + p.sum
        )
    assert by_type == {"input": 130 + 160 + 90 + 70 + 20 + 50, "output": 12 + 8 + 9 + 4 + 1 + 3}
    assert {p.attributes[sc.GEN_AI_AGENT_NAME] for p in points if sc.GEN_AI_AGENT_NAME in p.attributes} == {
        "triage",
        "billing",
        "researcher",
    }
    duration = got.metric(sc.METRIC_OPERATION_DURATION)
    assert (
        duration.unit == "s"
        and tuple(duration.data.data_points[0].explicit_bounds) == sc.OPERATION_DURATION_BUCKETS
    )
    assert any(p.attributes.get(sc.ERROR_TYPE) == "RateLimitError" for p in duration.data.data_points)
    cost = got.metric(sc.METRIC_COST)
    assert cost.unit == "USD" and sum(p.value for p in cost.data.data_points) > 0
    runs = got.metric(sc.METRIC_RUNS).data.data_points
    assert sorted(
        (p.attributes[sc.GEN_AI_WORKFLOW_NAME], p.attributes[sc.TT_RUN_STATUS], p.value) for p in runs
    ) == [("researcher", "ok", 1), ("support", "ok", 1)]
    # As `teamtape cost --by team`: every call and run under its top-level run's name, nested ones too.
    assert {p.attributes[sc.TT_TEAM] for p in [*cost.data.data_points, *runs]} == {"nightly"}


def _ids(got) -> set[tuple[str, int, int, int | None]]:
    return {
        (s.name, s.context.trace_id, s.context.span_id, s.parent.span_id if s.parent else None)
        for s in got.spans
    }


def test_translating_the_same_events_twice_gives_the_same_ids(translate) -> None:
    first, second = translate(support_run()), translate(support_run())
    assert _ids(first) == _ids(second)
    assert len({s.context.span_id for s in first.spans}) == len(first.spans) == 15


def test_a_crashed_run_ends_at_its_last_event_with_an_error(translate) -> None:
    r = RunScript("dead")
    r.llm("triage", 0.1, 100)
    r.turn("triage", 0.05, 200, "t1")
    r.crashed(3600.0)  # the store notices much later
    got = translate(r.events)
    root = got.one("invoke_workflow support")
    assert root.status.status_code == StatusCode.ERROR
    assert root.attributes[sc.TT_RUN_STATUS] == "crashed"
    assert root.end_time == round((T0 + 0.2505) * 1e6) * 1000


def test_a_crashed_run_that_waited_ends_when_its_process_was_last_alive(translate) -> None:
    """As the runs table says: a run killed while a model call hung lasted until the kill."""
    r = RunScript("dead")
    r.llm("triage", 0.1, 100)
    r.crashed(3600.0, alive=26.0)
    root = translate(r.events).one("invoke_workflow support")
    assert root.end_time == round((T0 + 26.0) * 1e6) * 1000
    assert root.attributes[sc.TT_STOP_REASON] == "the recording process died"


def test_a_failed_run_records_the_exception(translate) -> None:
    r = RunScript("failed")
    r.ended(
        2.0,
        status="error",
        stop_reason=None,
        error={"type": "ValueError", "message": "bad tool output", "traceback": "Traceback ..."},
    )
    root = translate(r.events).one("invoke_workflow support")
    assert root.status.status_code == StatusCode.ERROR and root.status.description == "bad tool output"
    assert root.attributes[sc.ERROR_TYPE] == "ValueError"
    exception = next(e for e in root.events if e.name == "exception")
    assert dict(exception.attributes) == {
        "exception.type": "ValueError",
        "exception.message": "bad tool output",
    }


def test_a_run_still_open_when_the_sink_closes_is_sent_as_running(translate) -> None:
    r = RunScript("open")
    r.llm("triage", 0.1, 100)
    got = translate(r.events)
    root = got.one("invoke_workflow support")
    assert root.attributes[sc.TT_RUN_STATUS] == "running"
    assert got.parent_of(got.one("chat gpt-4o-mini")) is root


def test_events_of_a_run_whose_start_was_missed_still_make_spans(translate) -> None:
    r = RunScript("late")
    r.llm("triage", 0.1, 100)
    r.turn("triage", 0.05, 200, "t1")
    r.ended(1.0)
    got = translate(r.events[1:])
    assert sorted(s.name for s in got.spans) == [
        "chat gpt-4o-mini",
        "invoke_agent triage",
        "invoke_workflow run",
    ]


def test_memory_stays_bounded_when_runs_never_end(translate) -> None:
    events = []
    for i in range(30):
        r = RunScript(f"run-{i:02d}")
        r.llm("triage", 0.1, 100)
        events += r.events
    from teamtape.recorder.otlp import Translator

    spans = []
    t = Translator(spans.append, max_open_runs=10, max_pending=5)
    for event in events:
        t.feed(event)
    assert len(t.runs) == 10
    assert (
        sum(1 for s in spans if s.name.startswith("invoke_workflow")) == 20
    )  # the oldest were sent as running
    r = RunScript("busy")
    for i in range(12):
        r.llm(None, 0.1 + i, 10)
    for event in r.events:
        t.feed(event)
    assert len(t.runs["busy"].pending) == 5  # calls waiting for a turn are capped; the overflow went out


async def test_a_later_calls_input_is_its_whole_prompt_not_what_was_new(translate, tmp_path) -> None:
    """The store keeps each request as a delta on the agent's previous one; a span has it whole."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat

    import teamtape
    from teamtape.demo.server import ScriptedOpenAIServer

    with ScriptedOpenAIServer(["Order 7 is paid.", "Anything else?"]) as server:
        clerk = AssistantAgent(
            "clerk", model_client=server.client("gpt-4o-mini"), system_message="You are the clerk."
        )
        team = RoundRobinGroupChat([clerk], termination_condition=MaxMessageTermination(3))
        async with teamtape.record(store=tmp_path / "store") as rec:
            await team.run(task="Is order 7 paid?")
    (run_id,) = rec.run_ids
    events = rec.store.events(run_id, expand_requests=False)  # as recorded (and as a live sink sees them)
    assert [e.payload["request"].get("base") is not None for e in events if e.kind == "llm_call"] == [
        False,
        True,
    ]
    got = translate(events, capture_content=True)
    calls = sorted(got.named("chat gpt-4o-mini"), key=lambda s: s.start_time)
    inputs = [json.loads(c.attributes[sc.GEN_AI_INPUT_MESSAGES]) for c in calls]
    assert [[m["role"] for m in call] for call in inputs] == [
        ["system", "user"],
        ["system", "user", "assistant"],
    ]
    assert inputs[1][0]["parts"][0]["content"] == "You are the clerk."


def test_a_crashed_runs_unanswered_model_call_is_a_failed_chat_span_until_the_end(translate) -> None:
    """A run killed while a model call hung: the trace shows the call it was waiting on, as `show` does."""
    r = RunScript("hung")
    task = r.blob(0.05, "h-task", {"type": "UserMessage", "source": "user", "content": "Triage ticket 42."})
    first = r.llm("triage", 0.1, 100, messages=[task])
    again = r.blob(1.9, "h-again", {"type": "UserMessage", "source": "user", "content": "Any news?"})
    asked = {
        "messages": [again],
        "base": {"call_id": first.payload["call_id"], "keep": 1},
        "tool_choice": "auto",
    }
    started = r._add(
        "llm_call_started",
        2.0,
        "triage",
        call_id="hung-c9",
        model="gpt-4o-mini",
        provider="openai",
        client="X",
        request=asked,
    )
    r.crashed(3600.0, alive=26.0)
    got = translate(r.events, capture_content=True)
    hung = next(s for s in got.named("chat gpt-4o-mini") if s.start_time == round(started.ts * 1e6) * 1000)
    # What it asked, whole (its earlier messages are stored once, with the call before it).
    inputs = json.loads(hung.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert [m["parts"][0]["content"] for m in inputs] == ["Triage ticket 42.", "Any news?"]
    assert hung.end_time == round((T0 + 26.0) * 1e6) * 1000
    assert hung.status.status_code == StatusCode.ERROR and "no answer" in hung.status.description
    assert hung.parent.span_id == run_span_id("hung") and hung.attributes[sc.ERROR_TYPE] == "NoAnswer"
    assert len(got.named("chat gpt-4o-mini")) == 2, "the answered call, and the one never answered"


def test_what_a_tool_raised_is_named_by_type_only_unless_content_is_opted_in(translate) -> None:
    r = RunScript("toolfail")
    failed = r.tool(
        "billing", 0.5, 3, "refund", "call_9", {"order": 4711}, "order 4711 not found", is_error=True
    )
    failed.payload["error"] = {"type": "KeyError", "message": "'order 4711 not found'", "traceback": "..."}
    r.ended(1.0)
    quiet = translate(r.events).one("execute_tool refund")
    assert quiet.status.status_code == StatusCode.ERROR and quiet.status.description == "KeyError"
    assert "4711" not in _all_text(translate(r.events))
    told = translate(r.events, capture_content=True).one("execute_tool refund")
    assert told.status.description == "'order 4711 not found'"


def test_a_nested_run_exported_after_its_parent_closed_counts_under_the_parents_team(translate) -> None:
    """`teamtape export otlp` sends run after run: the top-level run has closed before its nested run
    starts, and the nested run's calls still count under the top-level run's team."""
    events = support_run()
    root = events[0].run_id
    for e in events:
        if e.run_id != root and e.kind == "run_started":
            e.payload = {**e.payload, "name": None, "team_type": "AssistantAgent"}
    in_export_order = [e for e in events if e.run_id == root] + [e for e in events if e.run_id != root]
    got = translate(in_export_order)
    points = [*got.metric(sc.METRIC_COST).data.data_points, *got.metric(sc.METRIC_RUNS).data.data_points]
    assert {p.attributes[sc.TT_TEAM] for p in points} == {"nightly"}
