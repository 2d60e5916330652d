"""Swarm handoffs with a human in the loop, and why a team stopped (termination conditions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import Handoff, TerminationCondition
from autogen_agentchat.conditions import (
    ExternalTermination,
    HandoffTermination,
    MaxMessageTermination,
    SourceMatchTermination,
    TextMentionTermination,
    TimeoutTermination,
    TokenUsageTermination,
)
from autogen_agentchat.messages import HandoffMessage
from autogen_agentchat.teams import RoundRobinGroupChat, Swarm

import teamtape
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ToolCall


def swarm_script() -> Script:
    script = Script()
    script.route("triage", system_contains="You route requests.").then(
        Reply(tool_calls=[ToolCall("transfer_to_refunder", {})]),
        "Refund done, anything else? TERMINATE",
    )
    script.route("refunder", system_contains="You refund flights.").then(
        Reply(content="Please confirm the refund.", tool_calls=[ToolCall("transfer_to_user", {})]),
        Reply(tool_calls=[ToolCall("refund_flight", {"flight_id": "FL-1234"})]),
        Reply(tool_calls=[ToolCall("transfer_to_triage", {})]),
    )
    return script


async def test_swarm_handoffs_and_hitl_resumption_are_two_runs_of_one_session(
    serve, client, store_path, recorded, stream
) -> None:
    async def refund_flight(flight_id: str) -> str:
        """Refund a flight."""
        return f"refunded {flight_id}"

    server = serve(swarm_script())
    model = client(server)
    triage = AssistantAgent(
        "triage",
        model_client=model,
        handoffs=["refunder"],
        system_message="You route requests.",
        model_client_stream=stream,
    )
    refunder = AssistantAgent(
        "refunder",
        model_client=model,
        tools=[refund_flight],
        handoffs=["triage", Handoff(target="user", message="Asking the user.")],
        system_message="You refund flights.",
        model_client_stream=stream,
    )
    termination = HandoffTermination(target="user") | TextMentionTermination("TERMINATE")
    team = Swarm([triage, refunder], termination_condition=termination)
    async with teamtape.record(store=store_path) as rec:
        first = await team.run(task="Refund FL-1234 please.")
        resume = HandoffMessage(source="user", target="refunder", content="Yes, refund it.")
        second = await team.run(task=resume)

    db = recorded()
    runs = db.runs()
    assert [r["run_id"] for r in runs] == rec.run_ids
    assert runs[0]["session_id"] == runs[1]["session_id"]
    assert [r["stop_reason"] for r in runs] == [first.stop_reason, second.stop_reason]
    assert first.stop_reason == "Handoff to user from refunder detected."
    assert second.stop_reason == "Text 'TERMINATE' mentioned"
    for run, result in zip(runs, (first, second)):
        db.assert_messages_match(run["run_id"], result.messages)

    (started,) = db.events(runs[1]["run_id"], "run_started")
    assert runs[1]["task"] == "Yes, refund it."
    (task_message,) = started["payload"]["task_messages"]
    assert (task_message["type"], task_message["source"], task_message["target"]) == (
        "HandoffMessage",
        "user",
        "refunder",
    )

    handoffs = db.rows("SELECT run_id, source, target FROM handoffs ORDER BY ts")
    assert [(h["run_id"] == runs[1]["run_id"], h["source"], h["target"]) for h in handoffs] == [
        (False, "triage", "refunder"),
        (False, "refunder", "user"),
        (True, "user", "refunder"),
        (True, "refunder", "triage"),
    ]
    tools = db.rows("SELECT tool, tool_kind, agent FROM tool_calls ORDER BY ts")
    assert [(t["tool"], t["tool_kind"], t["agent"]) for t in tools] == [
        ("transfer_to_refunder", "handoff", "triage"),
        ("transfer_to_user", "handoff", "refunder"),
        ("refund_flight", "function", "refunder"),
        ("transfer_to_triage", "handoff", "refunder"),
    ]
    selections = db.rows("SELECT selector, selected FROM speaker_selections ORDER BY ts")
    assert {s["selector"] for s in selections} == {"SwarmGroupChatManager"}
    # The refunder keeps the floor after its tool call (no handoff), then hands back to triage.
    assert [s["selected"] for s in selections] == [
        ["triage"],
        ["refunder"],
        ["refunder"],
        ["refunder"],
        ["triage"],
    ]


def _echo_team(model: Any, condition: TerminationCondition, **agent_kwargs: Any) -> RoundRobinGroupChat:
    writer = AssistantAgent("writer", model_client=model, system_message="You write.", **agent_kwargs)
    critic = AssistantAgent("critic", model_client=model, system_message="You criticise.")
    return RoundRobinGroupChat([writer, critic], termination_condition=condition)


external = ExternalTermination()


async def stop_now() -> str:
    """Ask the team to stop."""
    external.set()
    return "stopping"


CONDITIONS: dict[str, tuple[Callable[[], TerminationCondition], list[Any], dict[str, Any], str]] = {
    "max_message": (
        lambda: MaxMessageTermination(2),
        ["w1", "c1"],
        {},
        "Maximum number of messages 2 reached",
    ),
    "text_mention": (
        lambda: TextMentionTermination("DONE"),
        ["w1", "fine, DONE"],
        {},
        "Text 'DONE' mentioned",
    ),
    "source_match": (lambda: SourceMatchTermination(["critic"]), ["w1", "c1"], {}, "'critic' answered"),
    "token_usage": (
        lambda: TokenUsageTermination(max_total_token=100),
        [Reply(content="w1", prompt_tokens=90, completion_tokens=20)],
        {},
        "Token usage limit reached",
    ),
    "timeout": (
        lambda: TimeoutTermination(0.01),
        [Reply(content="w1", delay_s=0.05)],
        {},
        "Timeout of 0.01 seconds",
    ),
    "external": (
        lambda: external,
        [Reply(tool_calls=[ToolCall("stop_now", {})])],
        {"tools": [stop_now]},
        "External termination requested",
    ),
    "handoff": (
        lambda: HandoffTermination(target="user"),
        [Reply(tool_calls=[ToolCall("transfer_to_user", {})])],
        {"handoffs": ["user"]},
        "Handoff to user from writer detected",
    ),
}


@pytest.mark.parametrize("name", list(CONDITIONS))
async def test_stop_reason_of_each_termination_condition(serve, client, store_path, recorded, name) -> None:
    make_condition, replies, agent_kwargs, expected = CONDITIONS[name]
    server = serve(replies)
    team = _echo_team(client(server), make_condition(), **agent_kwargs)
    async with teamtape.record(store=store_path):
        result = await team.run(task="Write a line.")

    run = recorded().top_run()
    assert run["status"] == "ok"
    assert run["stop_reason"] == result.stop_reason
    assert expected in run["stop_reason"]


async def test_a_combined_condition_records_which_one_fired(serve, client, store_path, recorded) -> None:
    server = serve(["w1", "c1", "w2"])
    condition = (
        TextMentionTermination("NEVER") | MaxMessageTermination(3) | SourceMatchTermination(["nobody"])
    )
    team = _echo_team(client(server), condition)
    async with teamtape.record(store=store_path):
        result = await team.run(task="Write a line.")

    run = recorded().top_run()
    assert (
        run["stop_reason"]
        == result.stop_reason
        == "Maximum number of messages 3 reached, current message count: 3"
    )
