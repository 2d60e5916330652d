"""MagenticOneGroupChat and GraphFlow: runs recorded with their orchestrator's own model calls."""

from __future__ import annotations

import json

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import DiGraphBuilder, GraphFlow, MagenticOneGroupChat
from autogen_core import SingleThreadedAgentRuntime

import teamtape
from teamtape.demo.script import Script, last_message_text


def ledger(satisfied: bool, next_speaker: str = "analyst", instruction: str = "Compute 6 * 7.") -> str:
    def entry(answer: object) -> dict[str, object]:
        return {"reason": "scripted", "answer": answer}

    return json.dumps(
        {
            "is_request_satisfied": entry(satisfied),
            "is_in_loop": entry(False),
            "is_progress_being_made": entry(True),
            "next_speaker": entry(next_speaker),
            "instruction_or_question": entry(instruction),
        }
    )


def orchestrator_script() -> Script:
    script = Script()
    last = last_message_text
    script.route("facts", lambda r: "pre-survey" in last(r)).then("GIVEN FACTS: none.")
    script.route("plan", lambda r: "we have assembled the following team" in last(r)).then(
        "- analyst computes"
    )
    script.route("ledger", lambda r: "Recall we are working on the following request" in last(r)).then(
        ledger(False), ledger(True)
    )
    script.route("final", lambda r: "provide the final answer" in last(r)).then("The answer is 42.")
    script.route("analyst", system_contains="You are the analyst.").then("6 * 7 = 42")
    return script


@pytest.mark.parametrize("runtime", ["its own", "started outside the run"])
async def test_magentic_one_records_the_orchestrators_calls_and_its_final_answer(
    serve, client, store_path, recorded, runtime
) -> None:
    server = serve(orchestrator_script())
    model = client(server)
    analyst = AssistantAgent("analyst", model_client=model, system_message="You are the analyst.")
    outside = SingleThreadedAgentRuntime() if runtime == "started outside the run" else None
    if outside is not None:
        outside.start()  # its handlers run where no run is current
    team = MagenticOneGroupChat([analyst], model_client=model, runtime=outside)
    async with teamtape.record(store=store_path):
        result = await team.run(task="What is 6 * 7?")
    if outside is not None:
        await outside.stop_when_idle()

    db = recorded()
    (run,) = db.runs()
    assert db.rows("SELECT selected FROM speaker_selections") == [{"selected": ["analyst"]}]
    assert (run["team_type"], run["status"]) == ("MagenticOneGroupChat", "ok")
    assert run["stop_reason"] == result.stop_reason
    db.assert_messages_match(run["run_id"], result.messages)
    calls = db.rows("SELECT agent, request, response FROM llm_calls ORDER BY ts")
    assert [c["agent"] for c in calls] == [
        "orchestrator",  # facts
        "orchestrator",  # plan
        "orchestrator",  # progress ledger: next speaker
        "analyst",
        "orchestrator",  # progress ledger: satisfied
        "orchestrator",  # final answer
    ]
    # The progress ledger asks for structured output, which the recording shows.
    assert calls[2]["request"]["json_output"]["name"] == "LedgerEntry"
    assert calls[-1]["response"]["content"] == "The answer is 42."
    assert run["llm_calls"] == 6
    # The orchestrator's instruction to the next speaker is a message of the run.
    instruction = db.one(
        "SELECT source, content FROM messages WHERE type = 'TextMessage' AND content LIKE 'Compute%'"
    )
    assert instruction == {"source": "MagenticOneOrchestrator", "content": "Compute 6 * 7."}


async def test_magentic_one_speaker_selection_is_recorded(serve, client, store_path, recorded) -> None:
    server = serve(orchestrator_script())
    model = client(server)
    analyst = AssistantAgent("analyst", model_client=model, system_message="You are the analyst.")
    async with teamtape.record(store=store_path):
        await MagenticOneGroupChat([analyst], model_client=model).run(task="What is 6 * 7?")

    # MagenticOne picks the next speaker from its progress ledger, not in select_speaker.
    db = recorded()
    selections = db.rows("SELECT selector, selected FROM speaker_selections ORDER BY ts")
    assert selections == [{"selector": "MagenticOneOrchestrator", "selected": ["analyst"]}]
    (event,) = db.events(db.top_run()["run_id"], "speaker_selection")
    assert event["agent"] == "orchestrator"


async def test_graph_flow_runs_follow_the_graph(serve, client, store_path, recorded, stream) -> None:
    script = Script()
    script.route("drafter", system_contains="You draft.").then("Draft v1.")
    script.route("checker", system_contains="You check facts.").then("Facts ok.")
    script.route("styler", system_contains="You fix style.").then("Style ok.")
    script.route("publisher", system_contains="You publish.").then("Published.")
    server = serve(script)
    model = client(server)

    def agent(name: str, prompt: str) -> AssistantAgent:
        return AssistantAgent(name, model_client=model, system_message=prompt, model_client_stream=stream)

    drafter, checker = agent("drafter", "You draft."), agent("checker", "You check facts.")
    styler, publisher = agent("styler", "You fix style."), agent("publisher", "You publish.")
    builder = DiGraphBuilder()
    builder.add_node(drafter).add_node(checker).add_node(styler).add_node(publisher)
    builder.add_edge(drafter, checker).add_edge(drafter, styler)
    builder.add_edge(checker, publisher).add_edge(styler, publisher)
    flow = GraphFlow(builder.get_participants(), graph=builder.build())
    async with teamtape.record(store=store_path):
        result = await flow.run(task="Write a release note.")

    db = recorded()
    run = db.top_run()
    assert (run["team_type"], run["status"], run["stop_reason"]) == ("GraphFlow", "ok", result.stop_reason)
    db.assert_messages_match(run["run_id"], result.messages)
    selections = [r["selected"] for r in db.rows("SELECT selected FROM speaker_selections ORDER BY ts")]
    assert selections[:2] == [["drafter"], ["checker", "styler"]]
    assert ["publisher"] in selections
    assert {r["selector"] for r in db.rows("SELECT selector FROM speaker_selections")} == {"GraphFlowManager"}
    agents = sorted(r["agent"] for r in db.rows("SELECT agent FROM llm_calls"))
    assert agents == ["checker", "drafter", "publisher", "styler"]
    assert {r["streamed"] for r in db.rows("SELECT streamed FROM llm_calls")} == {stream}
