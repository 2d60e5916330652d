"""Record every handbook pattern against a scripted server, stop the server, replay: identical.

Each pattern is replayed twice: rebuilt from its recorded component config (teamtape replay RUN),
and built by its factory with real OpenAI clients pointing at the stopped server (--factory), so
any request that escaped the replay would fail the run.
"""

from __future__ import annotations

from typing import Any

import pytest
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, StructuredMessage

import teamtape
from teamtape.replay import ReplaySession, Tape, replay_run, serving
from tests.support import handbook_teams as H

pytestmark = [
    pytest.mark.filterwarnings("ignore:Using LocalCommandLineCodeExecutor:UserWarning"),
    pytest.mark.filterwarnings("ignore:No approval function set:UserWarning"),
    pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning"),
]


@pytest.fixture
def made() -> Any:
    clients: list[Any] = []
    yield clients


@pytest.mark.parametrize("pattern", H.PATTERNS, ids=lambda p: p.name)
async def test_record_then_replay_with_the_server_stopped(pattern: H.Pattern, tmp_path, made) -> None:
    run_ids, dead_url, results = await H.record_pattern(pattern, tmp_path / "store")
    store = teamtape.open_store(tmp_path / "store")
    refunds_before = list(H.REFUNDS)

    from_config = await replay_run(store, run_ids[0])
    assert from_config.identical, from_config.render()
    assert from_config.stats.model_live == 0 and from_config.stats.model_served > 0

    from_factory = await replay_run(
        store, run_ids[0], factory=lambda: pattern.build(H.dead_client_maker(dead_url, made))
    )
    await H.close_all(made)
    assert from_factory.identical, from_factory.render()
    assert len(from_factory.replay_run_ids) == len(results) == len(pattern.tasks)

    # The replays are new runs of the store, linked to what they replay.
    rows = store.query(
        "SELECT run_id, replay_of, status FROM runs WHERE replay_of IS NOT NULL AND parent_run_id IS NULL "
        "ORDER BY started_at"
    )
    assert [r["replay_of"] for r in rows] == from_config.original_run_ids + from_factory.original_run_ids
    # Their nested runs too, each to the nested run it replays.
    nested = store.query(
        "SELECT r.replay_of, p.replay_of AS parent_replays, o.parent_run_id AS original_parent FROM runs r "
        "JOIN runs p ON p.run_id = r.parent_run_id LEFT JOIN runs o ON o.run_id = r.replay_of "
        "WHERE p.replay_of IS NOT NULL"
    )
    assert (
        len(nested)
        == 2
        * store.query("SELECT count(*) AS n FROM runs WHERE parent_run_id IS NOT NULL AND replay_of IS NULL")[
            0
        ]["n"]
    )
    assert all(n["replay_of"] and n["original_parent"] == n["parent_replays"] for n in nested)
    assert refunds_before == H.REFUNDS, "a replay executed refund_flight again"
    code_log = tmp_path / "code.log"
    assert code_log.exists() == (pattern is H.CODE)
    if pattern is H.CODE:
        assert code_log.read_text() == "ran\n", "a replay executed the recorded code again"
        assert from_config.stats.code_served == from_factory.stats.code_served == 1


async def test_swarm_side_effect_tool_runs_only_when_asked(tmp_path, made) -> None:
    run_ids, dead_url, _ = await H.record_pattern(H.SWARM, tmp_path / "store")
    store = teamtape.open_store(tmp_path / "store")
    recorded = list(H.REFUNDS)

    served = await replay_run(
        store, run_ids[0], factory=lambda: H.build_swarm(H.dead_client_maker(dead_url, made))
    )
    assert served.stats.tools_served == 1 and served.stats.tools_executed == 0
    assert recorded == H.REFUNDS

    executed = await replay_run(
        store,
        run_ids[0],
        factory=lambda: H.build_swarm(H.dead_client_maker(dead_url, made)),
        execute_tools=True,
    )
    await H.close_all(made)
    assert executed.identical, executed.render()
    assert executed.stats.tools_executed == 1
    assert [*recorded, "FL-1234"] == H.REFUNDS


async def test_streaming_replay_re_emits_the_chunks(tmp_path, made) -> None:
    run_ids, dead_url, _ = await H.record_pattern(H.STREAMING, tmp_path / "store")
    store = teamtape.open_store(tmp_path / "store")
    tape = Tape.from_store(store, run_ids[0])
    call = next(tape.events("llm_call"))
    assert call.payload["streamed"]

    team = H.build_streaming(H.dead_client_maker(dead_url, made))
    with serving(ReplaySession(tape)):
        items = [item async for item in team.run_stream(task=H.STREAMING.tasks[0])]
    await H.close_all(made)
    chunks = [i.content for i in items if isinstance(i, ModelClientStreamingChunkEvent)]
    assert len(chunks) == call.payload["chunks"]["n"]
    assert "".join(chunks) == "Streaming tokens arrive one small piece at a time, in order."


async def test_structured_output_replays_as_the_pydantic_model(tmp_path, made) -> None:
    run_ids, dead_url, _ = await H.record_pattern(H.STRUCTURED, tmp_path / "store")
    tape = Tape.from_store(teamtape.open_store(tmp_path / "store"), run_ids[0])
    agent = H.build_structured(H.dead_client_maker(dead_url, made))
    with serving(ReplaySession(tape)):
        result = await agent.run(task=H.STRUCTURED.tasks[0])
    await H.close_all(made)
    last = result.messages[-1]
    assert isinstance(last, StructuredMessage)
    assert last.content == H.AgentResponse(thoughts="37 * 42 = 1554", answer="1554")


async def test_memory_queries_are_served_not_repeated(tmp_path, made) -> None:
    run_ids, dead_url, _ = await H.record_pattern(H.SEARCH_MEMORY, tmp_path / "store")
    assert H.MEMORY_QUERIES[-1] == "Recommend novels please."
    queries = list(H.MEMORY_QUERIES)
    store = teamtape.open_store(tmp_path / "store")

    report = await replay_run(
        store, run_ids[0], factory=lambda: H.build_search_memory(H.dead_client_maker(dead_url, made))
    )
    await H.close_all(made)
    assert report.identical, report.render()
    assert report.stats.memory_served == 1
    assert queries == H.MEMORY_QUERIES
