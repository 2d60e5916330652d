"""Matching and record modes: what a replay does with a request its recording does not hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from autogen_core.tools import FunctionTool

import teamtape
from teamtape.demo.server import ScriptedOpenAIServer
from teamtape.replay import (
    ReplayChatCompletionClient,
    ReplayMismatchError,
    ReplaySession,
    Tape,
    match_messages,
    serving,
)
from tests.support import handbook_teams as H


@pytest.fixture
async def single(tmp_path: Path) -> Any:
    """The SINGLE pattern recorded: (tape, dead base URL, recorded run id, clients to close)."""
    run_ids, dead_url, _ = await H.record_pattern(H.SINGLE, tmp_path / "store")
    made: list[Any] = []
    yield Tape.from_store(teamtape.open_store(tmp_path / "store"), run_ids[0]), dead_url, run_ids[0], made
    await H.close_all(made)


async def _mismatch(tape: Tape, agent: Any) -> ReplayMismatchError:
    session = ReplaySession(tape)
    with serving(session), pytest.raises(ReplayMismatchError) as caught:
        await agent.run(task=H.SINGLE.tasks[0])
    assert session.stats.mismatches == [caught.value]
    return caught.value


async def test_a_changed_system_prompt_names_run_agent_call_and_shows_the_diff(single: Any) -> None:
    tape, dead_url, run_id, made = single
    agent = H.build_single(
        H.dead_client_maker(dead_url, made), system_message="You answer questions tersely."
    )
    error = await _mismatch(tape, agent)
    text = str(error)
    assert f"run {run_id}" in text and "agent 'assistant'" in text and "call 1 of" in text
    assert "Closest recorded request: call 1 of assistant" in text
    assert "what changed: system prompt." in text
    assert "-  You answer questions, using search_web for facts." in error.diff
    assert "+  You answer questions tersely." in error.diff
    assert (error.run_id, error.agent, error.call_index, error.kind) == (run_id, "assistant", 1, "model")


async def test_a_changed_tool_list_is_a_mismatch_on_tools(single: Any) -> None:
    tape, dead_url, _, made = single

    def extra_tool(x: int) -> int:
        """Doubles x."""
        return 2 * x

    agent = H.build_single(
        H.dead_client_maker(dead_url, made), tools=[H.search_web, FunctionTool(extra_tool, "Doubles x.")]
    )
    error = await _mismatch(tape, agent)
    assert "what changed: tools." in str(error)
    assert any(line.startswith("+tool extra_tool:") for line in error.diff.splitlines())
    assert not any(line.startswith("-tool search_web") for line in error.diff.splitlines())


async def test_a_changed_model_is_a_mismatch_on_the_model(single: Any) -> None:
    tape, dead_url, _, made = single
    agent = H.build_single(H.dead_client_maker(dead_url, made), model="gpt-4o")
    error = await _mismatch(tape, agent)
    assert "what changed: model." in str(error)
    assert "-model: gpt-4o-mini" in error.diff and "+model: gpt-4o" in error.diff


async def test_the_replay_client_raises_the_same_mismatch(single: Any) -> None:
    tape, _, run_id, _ = single
    client = ReplayChatCompletionClient(tape)
    agent = H.build_single(lambda model="gpt-4o-mini", **_: client, system_message="Something else.")
    with pytest.raises(ReplayMismatchError, match=f"call 1 of an unknown agent \\(replaying run {run_id}"):
        await agent.run(task=H.SINGLE.tasks[0])


async def test_tool_call_ids_and_timestamps_do_not_matter(single: Any) -> None:
    """The same conversation with other tool-call ids has the same fingerprint."""
    from teamtape.replay._normalize import NormalizedRequest, message_key

    def request(call_id: str) -> NormalizedRequest:
        call = {
            "type": "AssistantMessage",
            "source": "a",
            "content": [{"id": call_id, "name": "f", "arguments": '{"x": 1}'}],
        }
        result = {
            "type": "FunctionExecutionResultMessage",
            "content": [{"call_id": call_id, "name": "f", "content": "2", "is_error": False}],
            "created_at": call_id,
        }
        return NormalizedRequest("m", (message_key(call), message_key(result)), [], "auto", None)

    assert request("call_1").fingerprint == request("toolu_XYZ").fingerprint
    crossed = NormalizedRequest("m", (request("a").messages[0], request("b").messages[1]), [], "auto", None)
    assert crossed.fingerprint != request("a").fingerprint
    assert match_messages(request("a"), request("b"))


# -- record modes -------------------------------------------------------------------------------------------
async def test_once_records_when_there_is_no_recording_and_replays_when_there_is(
    single: Any, tmp_path: Path
) -> None:
    tape, dead_url, _, made = single
    with ScriptedOpenAIServer(H.single_script()) as server:
        agent = H.build_single(H.server_client_maker(server, made))
        with serving(ReplaySession(None, mode="once")) as session:
            await agent.run(task=H.SINGLE.tasks[0])
        assert (
            len(server.requests) == 2 and session.stats.model_live == 2 and session.stats.tools_executed == 1
        )

    agent = H.build_single(H.dead_client_maker(dead_url, made))
    with serving(ReplaySession(tape, mode="once")) as session:
        result = await agent.run(task=H.SINGLE.tasks[0])
    assert result.messages[-1].content == "The Eiffel Tower is 330 m tall."
    assert session.stats.model_served == 2 and session.stats.model_live == 0


async def test_new_episodes_serves_what_matches_and_records_the_rest(single: Any, tmp_path: Path) -> None:
    tape, _, _, made = single
    script = H.single_script()
    for _ in range(2):
        script.routes[0].replies.popleft()  # what the tape answers is never asked of the server
    with ScriptedOpenAIServer(script) as server:
        agent = H.build_single(H.server_client_maker(server, made))
        async with teamtape.record(store=tmp_path / "again") as recording:
            with serving(ReplaySession(tape, mode="new_episodes")) as session:
                await agent.run(task=H.SINGLE.tasks[0])
                follow_up = await agent.run(task="Where is it?")
        assert len(server.requests) == 1
    assert follow_up.messages[-1].content == "Paris is in France."
    assert (session.stats.model_served, session.stats.model_live) == (2, 1)

    # What was recorded (served and new) now replays with no server at all.
    everything = Tape.from_runs(recording.store, recording.run_ids)
    agent = H.build_single(H.dead_client_maker("http://127.0.0.1:9/v1", made))
    with serving(ReplaySession(everything)) as session:
        await agent.run(task=H.SINGLE.tasks[0])
        again = await agent.run(task="Where is it?")
    assert again.messages[-1].content == "Paris is in France." and session.stats.model_served == 3


async def test_all_sends_everything_to_the_real_model_even_when_it_matches(single: Any) -> None:
    tape, _, _, made = single
    with ScriptedOpenAIServer(H.single_script()) as server:
        agent = H.build_single(H.server_client_maker(server, made))
        with serving(ReplaySession(tape, mode="all")) as session:
            await agent.run(task=H.SINGLE.tasks[0])
        assert len(server.requests) == 2
    assert session.stats.model_served == 0 and session.stats.tools_executed == 1


async def test_none_never_reaches_the_model(single: Any) -> None:
    tape, _, _, made = single
    with ScriptedOpenAIServer(H.single_script()) as server:
        agent = H.build_single(H.server_client_maker(server, made))
        with serving(ReplaySession(tape, mode="none")):
            await agent.run(task=H.SINGLE.tasks[0])
            with pytest.raises(ReplayMismatchError):
                await agent.run(task="A question never recorded")
        assert server.requests == []
