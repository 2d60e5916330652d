"""RoundRobinGroupChat and SelectorGroupChat: messages, speaker selections, the selector's own calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent, BaseChatAgent, UserProxyAgent
from autogen_agentchat.base import Response
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat
from autogen_core import SingleThreadedAgentRuntime

import teamtape
from teamtape.demo.script import Script, message_text
from teamtape.demo.server import Reply, ToolCall

SELECTOR_PROMPT = "PICK THE NEXT SPEAKER among {participants}.\nRoles:\n{roles}\nConversation:\n{history}"


def is_selector(request: dict) -> bool:
    return any("PICK THE NEXT SPEAKER" in message_text(m) for m in request.get("messages") or [])


async def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"facts about {topic}"


def candidates_of(db) -> list[list[str] | None]:
    """The candidates of each speaker selection, when the selector's model had a choice to make."""
    events = [e for r in db.runs() for e in db.events(r["run_id"], "speaker_selection")]
    return [e["payload"]["candidates"] for e in events]


def research_team(server, client, *, stream: bool = False, **selector_kwargs) -> SelectorGroupChat:
    model = client(server)
    planner = AssistantAgent(
        "planner", model_client=model, system_message="You are the planner.", model_client_stream=stream
    )
    researcher = AssistantAgent(
        "researcher",
        model_client=model,
        tools=[lookup],
        system_message="You are the researcher.",
        model_client_stream=stream,
    )
    writer = AssistantAgent(
        "writer", model_client=model, system_message="You are the writer.", model_client_stream=stream
    )
    selector_kwargs.setdefault("termination_condition", TextMentionTermination("TERMINATE"))
    return SelectorGroupChat(
        [planner, researcher, writer],
        model_client=model,
        selector_prompt=SELECTOR_PROMPT,
        model_client_streaming=stream,
        **selector_kwargs,
    )


def research_script(selections: Sequence[str]) -> Script:
    script = Script()
    script.route("selector", is_selector).then(*selections)
    script.route("planner", system_contains="You are the planner.").then("Plan: research, then write.")
    script.route("researcher", system_contains="You are the researcher.").then(
        Reply(tool_calls=[ToolCall("lookup", {"topic": "tides"})])
    )
    script.route("writer", system_contains="You are the writer.").then("Tides follow the moon. TERMINATE")
    return script


async def test_round_robin_messages_and_turns_mirror_the_result(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve(["Draft one.", "Looks good.", "Draft two."])
    model = client(server)
    writer = AssistantAgent("writer", model_client=model, model_client_stream=stream)
    critic = AssistantAgent("critic", model_client=model, model_client_stream=stream)
    team = RoundRobinGroupChat([writer, critic], termination_condition=MaxMessageTermination(4))
    async with teamtape.record(store=store_path, name="rr", labels={"suite": "recorder"}):
        result = await team.run(task="Write a slogan.")

    db = recorded()
    run = db.top_run()
    assert (run["team_type"], run["name"], run["status"]) == ("RoundRobinGroupChat", "rr", "ok")
    assert run["participants"] == ["writer", "critic"]
    assert run["labels"] == {"suite": "recorder"}
    assert (
        run["stop_reason"]
        == result.stop_reason
        == "Maximum number of messages 4 reached, current message count: 4"
    )
    db.assert_messages_match(run["run_id"], result.messages)
    selections = db.rows("SELECT selector, selected FROM speaker_selections ORDER BY seq")
    assert [s["selected"] for s in selections] == [["writer"], ["critic"], ["writer"]]
    assert {s["selector"] for s in selections} == {"RoundRobinGroupChatManager"}
    turns = [e["agent"] for e in db.events(run["run_id"], "agent_turn")]
    assert turns == ["writer", "critic", "writer"]
    calls = db.rows("SELECT agent, streamed FROM llm_calls ORDER BY ts")
    assert [(c["agent"], c["streamed"]) for c in calls] == [
        ("writer", stream),
        ("critic", stream),
        ("writer", stream),
    ]
    chunks = [(e["agent"], e["payload"]["text"]) for e in db.events(run["run_id"], "message_chunks")]
    assert chunks == (
        [("writer", "Draft one."), ("critic", "Looks good."), ("writer", "Draft two.")] if stream else []
    )


async def test_model_based_selection_is_recorded_with_the_selectors_own_calls(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve(research_script(["planner", "researcher", "writer"]))
    team = research_team(server, client, stream=stream)
    async with teamtape.record(store=store_path):
        result = await team.run(task="Explain tides.")

    db = recorded()
    run = db.top_run()
    assert run["team_type"] == "SelectorGroupChat" and run["status"] == "ok"
    assert run["stop_reason"] == result.stop_reason == "Text 'TERMINATE' mentioned"
    db.assert_messages_match(run["run_id"], result.messages)
    # In the order things happened, though the caller reads run_stream from a queue the team fills while
    # it runs on: recorded as read, a tool's run would come before its request, and the first selection
    # before the task it was made for.
    timeline = [
        (e["kind"], e["agent"], e["payload"].get("type"))
        for e in db.events(run["run_id"])
        if e["kind"] not in ("blob", "message_chunks", "llm_call_started")  # a call's start: see test_agents
    ]
    chosen = [("llm_call", "selector", None), ("speaker_selection", "selector", None)]
    assert timeline == [
        ("run_started", None, None),
        ("message", "user", "TextMessage"),
        *chosen,
        ("llm_call", "planner", None),
        ("message", "planner", "TextMessage"),
        ("agent_turn", "planner", None),
        *chosen,
        ("llm_call", "researcher", None),
        ("message", "researcher", "ToolCallRequestEvent"),
        ("tool_call", "researcher", None),
        ("message", "researcher", "ToolCallExecutionEvent"),
        ("message", "researcher", "ToolCallSummaryMessage"),
        ("agent_turn", "researcher", None),
        *chosen,
        ("llm_call", "writer", None),
        ("message", "writer", "TextMessage"),
        ("agent_turn", "writer", None),
        ("run_ended", None, None),
    ]
    selections = db.rows("SELECT selector, selected FROM speaker_selections ORDER BY seq")
    assert selections == [
        {"selector": "SelectorGroupChatManager", "selected": ["planner"]},
        {"selector": "SelectorGroupChatManager", "selected": ["researcher"]},
        {"selector": "SelectorGroupChatManager", "selected": ["writer"]},
    ]
    calls = db.rows("SELECT agent, streamed, response FROM llm_calls ORDER BY ts")
    assert [c["agent"] for c in calls] == [
        "selector",
        "planner",
        "selector",
        "researcher",
        "selector",
        "writer",
    ]
    assert [c["response"]["content"] for c in calls if c["agent"] == "selector"] == [
        "planner",
        "researcher",
        "writer",
    ]
    # Who the model could choose from: everyone, then everyone but the previous speaker.
    assert candidates_of(db) == [
        ["planner", "researcher", "writer"],
        ["researcher", "writer"],
        ["planner", "writer"],
    ]
    assert {c["streamed"] for c in calls} == {stream}
    assert run["llm_calls"] == 6
    # The selector's request is the prompt the team built, with the conversation so far.
    prompts = [msgs[0]["content"] for msgs in db.sent("agent = 'selector'")]
    assert prompts[0].startswith("PICK THE NEXT SPEAKER among ['planner', 'researcher', 'writer'].")
    assert prompts[2].startswith("PICK THE NEXT SPEAKER among ['planner', 'writer'].")
    assert "planner: Plan: research, then write." in prompts[2]


async def test_selector_func_choices_need_no_model_call(serve, client, store_path, recorded) -> None:
    def selector_func(thread: Sequence[BaseAgentEvent | BaseChatMessage]) -> str | None:
        return "planner" if thread[-1].source == "user" else None  # then let the model choose

    server = serve(research_script(["researcher", "writer"]))
    team = research_team(server, client, selector_func=selector_func)
    async with teamtape.record(store=store_path):
        await team.run(task="Explain tides.")

    db = recorded()
    selected = [r["selected"] for r in db.rows("SELECT selected FROM speaker_selections ORDER BY seq")]
    assert selected == [["planner"], ["researcher"], ["writer"]]
    # None: selector_func chose. AutoGen only remembers speakers its model picked, so the model may
    # pick the planner again right after selector_func did: the candidates show it.
    assert candidates_of(db) == [None, ["planner", "researcher", "writer"], ["planner", "writer"]]
    assert decided_by(db) == ["selector_func", "model", "model"]
    agents = [r["agent"] for r in db.rows("SELECT agent FROM llm_calls ORDER BY ts")]
    assert agents == ["planner", "selector", "researcher", "selector", "writer"]


def decided_by(db: Any) -> list[str | None]:
    return [
        r["by"]
        for r in db.rows(
            "SELECT payload->>'$.decided_by' AS by FROM events WHERE kind = 'speaker_selection' ORDER BY seq"
        )
    ]


async def test_a_selector_func_that_fails_is_recorded_as_a_failed_selection(
    serve, client, store_path, recorded
) -> None:
    def selector_func(thread: Sequence[BaseAgentEvent | BaseChatMessage]) -> str | None:
        return "planner" if thread[-1].source == "user" else "editor"  # not in the team

    script = Script()
    script.route("planner", system_contains="You are the planner.").then("Plan: research, then write.")
    team = research_team(serve(script), client, selector_func=selector_func)
    async with teamtape.record(store=store_path):
        with pytest.raises(RuntimeError, match="invalid speaker name: editor"):
            await team.run(task="Explain tides.")

    db = recorded()
    rows = db.rows(
        "SELECT payload->'$.selected' AS selected, payload->>'$.error.type' AS error FROM events"
        " WHERE kind = 'speaker_selection' ORDER BY seq"
    )
    assert rows == [{"selected": ["planner"], "error": None}, {"selected": [], "error": "ValueError"}]
    assert db.top_run()["status"] == "error"


async def test_candidate_func_narrows_what_the_selector_model_chooses_from(
    serve, client, store_path, recorded
) -> None:
    def candidate_func(thread: Sequence[BaseAgentEvent | BaseChatMessage]) -> list[str]:
        last = thread[-1].source
        return {"user": ["planner", "researcher"], "planner": ["researcher"]}.get(last, ["writer", "planner"])

    server = serve(research_script(["planner", "writer"]))
    team = research_team(server, client, candidate_func=candidate_func)
    async with teamtape.record(store=store_path):
        await team.run(task="Explain tides.")

    db = recorded()
    selected = [r["selected"] for r in db.rows("SELECT selected FROM speaker_selections ORDER BY seq")]
    assert selected == [["planner"], ["researcher"], ["writer"]]
    assert candidates_of(db) == [["planner", "researcher"], None, ["writer", "planner"]]  # None: no choice
    assert decided_by(db) == ["model", "candidate_func", "model"]
    # One candidate needs no model call: the selector asked the model twice, for two candidates each.
    prompts = [msgs[0]["content"] for msgs in db.sent("agent = 'selector'")]
    assert [p.splitlines()[0] for p in prompts] == [
        "PICK THE NEXT SPEAKER among ['planner', 'researcher'].",
        "PICK THE NEXT SPEAKER among ['writer', 'planner'].",
    ]


async def test_allow_repeated_speaker_records_the_same_speaker_twice(
    serve, client, store_path, recorded
) -> None:
    script = Script()
    script.route("selector", is_selector).then("planner", "planner")
    script.route("planner", system_contains="You are the planner.").then("Step 1.", "Step 2. TERMINATE")
    server = serve(script)
    team = research_team(server, client, allow_repeated_speaker=True)
    async with teamtape.record(store=store_path):
        await team.run(task="Plan.")

    db = recorded()
    selected = [r["selected"] for r in db.rows("SELECT selected FROM speaker_selections ORDER BY seq")]
    assert selected == [["planner"], ["planner"]]
    prompts = [msgs[0]["content"] for msgs in db.sent("agent = 'selector'")]
    assert all("['planner', 'researcher', 'writer']" in p for p in prompts)


async def test_max_turns_stops_each_run_and_runs_share_a_session(serve, client, store_path, recorded) -> None:
    server = serve(["Haiku one.", "Haiku two, shorter."])
    agent = AssistantAgent("poet", model_client=client(server))
    team = RoundRobinGroupChat([agent], max_turns=1)
    async with teamtape.record(store=store_path) as rec:
        first = await team.run(task="Write a haiku about coding.")
        second = await team.run(task="Make it shorter.")

    db = recorded()
    runs = db.runs()
    assert [r["run_id"] for r in runs] == rec.run_ids
    assert [(r["task"], r["stop_reason"]) for r in runs] == [
        ("Write a haiku about coding.", first.stop_reason),
        ("Make it shorter.", second.stop_reason),
    ]
    assert first.stop_reason == "Maximum number of turns 1 reached."
    assert runs[0]["session_id"] == runs[1]["session_id"]
    # The second run's call carries the history of the first: the team kept its state.
    assert [m["content"] for m in db.sent()[1][1:]] == [
        "Write a haiku about coding.",
        "Haiku one.",
        "Make it shorter.",
    ]


async def test_user_proxy_input_request_and_answer_are_recorded(serve, client, store_path, recorded) -> None:
    prompts: list[str] = []

    async def input_func(prompt: str, cancellation_token=None) -> str:
        prompts.append(prompt)
        return "APPROVE"

    server = serve(["Here is the proposal. Do you approve?"])
    assistant = AssistantAgent("assistant", model_client=client(server))
    user_proxy = UserProxyAgent("user_proxy", input_func=input_func)
    team = RoundRobinGroupChat(
        [assistant, user_proxy], termination_condition=TextMentionTermination("APPROVE")
    )
    async with teamtape.record(store=store_path):
        result = await team.run(task="Draft a project proposal.")

    db = recorded()
    run = db.top_run()
    db.assert_messages_match(run["run_id"], result.messages)
    assert db.messages(run["run_id"]) == [
        ("user", "TextMessage"),
        ("assistant", "TextMessage"),
        ("user_proxy", "UserInputRequestedEvent"),
        ("user_proxy", "TextMessage"),
    ]
    answer = db.rows("SELECT content FROM messages WHERE source = 'user_proxy' ORDER BY seq")[-1]
    assert answer["content"] == "APPROVE" and prompts
    assert run["stop_reason"] == "Text 'APPROVE' mentioned"
    turns = [e["agent"] for e in db.events(run["run_id"], "agent_turn")]
    assert turns == ["assistant", "user_proxy"]


async def test_reset_starts_a_new_session(store_dir) -> None:
    from teamtape.demo.server import Reply, ScriptedOpenAIServer
    from tests.support.teams import order_team

    with ScriptedOpenAIServer([Reply(content="ok")] * 12) as server:
        team = order_team(server, max_messages=2)
        async with teamtape.record(store=store_dir) as rec:
            await team.run(task="first")
            await team.run(task="second")
            await team.reset()
            await team.run(task="after reset")
    sessions = [r["session_id"] for r in rec.store.query("SELECT session_id FROM runs ORDER BY started_at")]
    assert sessions[0] == sessions[1] != sessions[2]


class Lead(BaseChatAgent):
    """A participant that answers by passing on what its teammate (also in the team) says."""

    def __init__(self, teammate: AssistantAgent) -> None:
        super().__init__("lead", "Asks its teammate.")
        self.teammate = teammate

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (TextMessage,)

    async def on_messages(self, messages, cancellation_token) -> Response:  # type: ignore[no-untyped-def]
        async for item in self.on_messages_stream(messages, cancellation_token):
            if isinstance(item, Response):
                return item
        raise AssertionError("the teammate gave no response")

    async def on_messages_stream(self, messages, cancellation_token):  # type: ignore[no-untyped-def]
        async for item in self.teammate.on_messages_stream(messages, cancellation_token):
            yield item

    async def on_reset(self, cancellation_token) -> None:  # type: ignore[no-untyped-def]
        pass


async def test_what_a_participant_passes_on_from_a_teammate_is_recorded_once(
    serve, client, store_path, recorded
) -> None:
    server = serve(["hello world"])
    writer = AssistantAgent("writer", model_client=client(server), model_client_stream=True)
    team = RoundRobinGroupChat([Lead(writer), writer], max_turns=1)
    async with teamtape.record(store=store_path):
        result = await team.run(task="Say hello.")

    db = recorded()
    run = db.top_run()
    db.assert_messages_match(run["run_id"], result.messages)
    chunks = [e["payload"] for e in db.events(run["run_id"], "message_chunks")]
    assert [c["text"] for c in chunks] == ["hello world"]  # the stream once, not once per agent passing it on


async def test_a_team_on_a_runtime_started_outside_the_run_is_one_run(
    serve, client, store_path, recorded
) -> None:
    """The runtime's handlers were started before the run, so no run is current in them: each agent
    turn would otherwise become a run of its own, and the selector's model calls would be lost."""
    server = serve(research_script(["planner", "researcher", "writer"]))
    runtime = SingleThreadedAgentRuntime()
    runtime.start()
    team = research_team(server, client, runtime=runtime)
    async with teamtape.record(store=store_path):
        result = await team.run(task="Explain tides.")
    await runtime.stop_when_idle()

    db = recorded()
    (run,) = db.runs()
    db.assert_messages_match(run["run_id"], result.messages)
    assert [e["agent"] for e in db.events(run["run_id"], "agent_turn")] == ["planner", "researcher", "writer"]
    calls = [c["agent"] for c in db.rows("SELECT agent FROM llm_calls ORDER BY seq")]
    assert calls.count("selector") == 3 and len(calls) == len(server.requests)
    assert run["tool_calls"] == 1
