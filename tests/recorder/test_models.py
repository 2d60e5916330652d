"""Model clients around the OpenAI one (cache, AutoGen's replay), model errors, cancellation, early exits."""

from __future__ import annotations

import asyncio
import gc
import re
import subprocess
import sys
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import CancellationToken, InMemoryStore
from autogen_ext.models.cache import CHAT_CACHE_VALUE_TYPE, ChatCompletionCache
from autogen_ext.models.replay import ReplayChatCompletionClient

import teamtape
from teamtape.cli import main
from teamtape.demo.server import Reply


async def test_a_cache_hit_is_recorded_as_cached_and_free(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve([Reply(content="Paris.", prompt_tokens=40, completion_tokens=2)])
    cached = ChatCompletionCache(client(server), InMemoryStore[CHAT_CACHE_VALUE_TYPE]())
    async with teamtape.record(store=store_path):
        for _ in range(2):  # two fresh agents send the identical request
            agent = AssistantAgent("geo", model_client=cached, model_client_stream=stream)
            await agent.run(task="Capital of France?")

    assert len(server.requests) == 1
    db = recorded()
    calls = db.rows("SELECT * FROM llm_calls ORDER BY ts")
    assert [(c["cached"], c["streamed"], c["model"]) for c in calls] == [
        (False, stream, "gpt-4o-mini"),
        (True, stream, "gpt-4o-mini"),
    ]
    assert calls[0]["cost_usd"] > 0 and calls[1]["cost_usd"] == 0
    assert calls[0]["provider"] == "openai-compatible"
    assert [c["response"]["content"] for c in calls] == ["Paris.", "Paris."]
    second_run = db.one("SELECT cost_usd, llm_calls FROM runs WHERE run_id = ?", calls[1]["run_id"])
    assert second_run == {"cost_usd": 0, "llm_calls": 1}


async def test_autogens_replay_client_is_recorded_with_provider_replay(store_path, recorded, stream) -> None:
    replay = ReplayChatCompletionClient(["First canned answer.", "Second canned answer."])
    agent = AssistantAgent("canned", model_client=replay, model_client_stream=stream)
    async with teamtape.record(store=store_path):
        await agent.run(task="one")
        await agent.run(task="two")

    calls = recorded().rows(
        "SELECT provider, payload->>'client' AS client, streamed, response FROM llm_calls JOIN events USING (event_id)"
        " ORDER BY llm_calls.ts"
    )
    assert [(c["provider"], c["client"], c["streamed"]) for c in calls] == [
        ("replay", "ReplayChatCompletionClient", stream),
        ("replay", "ReplayChatCompletionClient", stream),
    ]
    assert [c["response"]["content"] for c in calls] == ["First canned answer.", "Second canned answer."]


async def test_an_http_500_is_an_llm_call_with_the_providers_message_and_a_failed_run(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve(["Draft.", Reply(error_status=500, error_message="The model is overloaded (req_42).")])
    model = client(server)
    writer = AssistantAgent("writer", model_client=model, model_client_stream=stream)
    critic = AssistantAgent("critic", model_client=model, model_client_stream=stream)
    team = RoundRobinGroupChat([writer, critic], termination_condition=MaxMessageTermination(5))
    async with teamtape.record(store=store_path):
        try:
            await team.run(task="Write and review.")
        except Exception as e:
            raised: Exception | None = e
        else:
            raised = None

    assert raised is not None and "The model is overloaded (req_42)." in str(raised)
    db = recorded()
    run = db.top_run()
    assert run["status"] == "error"
    assert "The model is overloaded (req_42)." in run["error"]
    failed = db.one("SELECT * FROM llm_calls WHERE error IS NOT NULL")
    assert (failed["agent"], failed["streamed"]) == ("critic", stream)
    assert failed["response"] in (None, "null")  # no response (the projection keeps a JSON null)
    assert "The model is overloaded (req_42)." in failed["error"]
    (event,) = [e for e in db.events(run["run_id"], "llm_call") if e["payload"].get("error")]
    assert event["payload"]["error"]["status_code"] == 500
    assert (failed["input_tokens"], failed["cost_usd"], failed["price_source"]) == (None, 0.0, "failed")
    assert db.messages(run["run_id"]) == [("user", "TextMessage"), ("writer", "TextMessage")]


async def test_a_model_timeout_is_recorded_as_a_failed_call(serve, client, store_path, recorded) -> None:
    server = serve([Reply(content="too late", delay_s=2.0)])
    agent = AssistantAgent("slow", model_client=client(server, timeout=0.2, max_retries=0))
    async with teamtape.record(store=store_path):
        try:
            await agent.run(task="Hurry.")
        except Exception as e:
            raised: Exception | None = e
        else:
            raised = None

    assert raised is not None
    db = recorded()
    run = db.top_run()
    assert run["status"] == "error" and "Request timed out" in run["error"]
    call = db.one("SELECT error, duration_ms FROM llm_calls")
    assert "Request timed out" in call["error"]
    assert 150 < call["duration_ms"] < 1500


async def _wait_for_request(server: Any) -> None:
    while not server.requests:
        await asyncio.sleep(0.01)


async def test_cancelling_a_run_records_it_as_cancelled(serve, client, store_path, recorded, stream) -> None:
    server = serve(["Draft.", Reply(hang=True)])
    model = client(server)
    writer = AssistantAgent("writer", model_client=model, model_client_stream=stream)
    critic = AssistantAgent("critic", model_client=model, model_client_stream=stream)
    team = RoundRobinGroupChat([writer, critic], termination_condition=MaxMessageTermination(5))
    token = CancellationToken()
    async with teamtape.record(store=store_path):
        running = asyncio.ensure_future(team.run(task="Write and review.", cancellation_token=token))
        while len(server.requests) < 2:
            await asyncio.sleep(0.01)
        token.cancel()
        try:
            await running
        except asyncio.CancelledError:
            outcome = "cancelled"
        else:
            outcome = "finished"

    assert outcome == "cancelled"
    db = recorded()
    run = db.top_run()
    assert run["status"] == "cancelled" and run["error"] == "CancelledError"
    assert run["failed_calls"] == 0  # the call cancelled with its run did not fail
    assert db.messages(run["run_id"]) == [("user", "TextMessage"), ("writer", "TextMessage")]
    calls = db.rows("SELECT agent, error FROM llm_calls ORDER BY ts")
    assert [c["agent"] for c in calls] == ["writer", "critic"]
    assert calls[0]["error"] is None and calls[1]["error"] is not None


async def test_a_consumer_breaking_out_of_run_stream_ends_the_run(
    serve, client, store_path, recorded
) -> None:
    server = serve(["One.", "Two.", "Three."])
    model = client(server)
    team = RoundRobinGroupChat(
        [AssistantAgent("a", model_client=model), AssistantAgent("b", model_client=model)],
        termination_condition=MaxMessageTermination(4),
    )
    seen: list[str] = []
    async with teamtape.record(store=store_path):
        stream = team.run_stream(task="Count.")
        async for message in stream:
            seen.append(message.source)
            if message.source == "a":
                break
        await stream.aclose()

    assert seen == ["user", "a"]
    db = recorded()
    run = db.top_run()
    assert run["status"] == "cancelled"
    assert run["stop_reason"] == "the caller stopped reading the stream"
    # Closing the stream waits for the team to wind down: the calls it made are still recorded, and so
    # is what it said (one message per model call), which the caller stopped reading after two.
    assert run["llm_calls"] == len(server.requests) == 3
    assert db.messages(run["run_id"]) == [
        ("user", "TextMessage"),
        ("a", "TextMessage"),
        ("b", "TextMessage"),
        ("a", "TextMessage"),
    ]


def _call_records_alive() -> int:
    """The recorder's notes on model calls (request, provider response) that are still reachable."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is dict and "call_id" in o and "request" in o)


async def test_a_finished_model_call_keeps_nothing_of_it_alive_while_the_run_goes_on(
    serve, client, store_path, stream
) -> None:
    """AutoGen's cancellation token holds every task a model call starts until the run ends, and each
    task holds the context it started in; a long run must not keep every call's request and provider
    response alive through it (it did, and made garbage collection slower on every call)."""
    server = serve([f"answer {i}" for i in range(6)])
    model = client(server)
    agents = [AssistantAgent(f"agent_{i}", model_client=model, model_client_stream=stream) for i in range(2)]
    team = RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(7))
    alive_mid_run = []
    async with teamtape.record(store=store_path):
        async for item in team.run_stream(task="Count."):
            if (
                getattr(item, "source", None) in ("agent_0", "agent_1")
                and type(item).__name__ == "TextMessage"
            ):
                alive_mid_run.append(_call_records_alive())
    assert len(alive_mid_run) == 6
    assert alive_mid_run == [0] * 6


async def test_the_sdks_own_retries_are_recorded_on_the_call_they_delayed(
    serve, client, store_path, recorded, stream, capsys
) -> None:
    rate_limited = Reply(
        error_status=429, error_code="rate_limit_exceeded", should_retry=True, retry_after_ms=40
    )
    server = serve([rate_limited, rate_limited, Reply(content="Paris.")])
    agent = AssistantAgent("geo", model_client=client(server), model_client_stream=stream)
    async with teamtape.record(store=store_path):
        result = await agent.run(task="Capital of France?")

    assert result.messages[-1].content == "Paris." and len(server.requests) == 3
    db = recorded()
    call = db.one("SELECT retries, error, streamed FROM llm_calls")
    assert call == {"retries": 2, "error": None, "streamed": stream}
    (event,) = db.events(db.top_run()["run_id"], "llm_call")
    retries = event["payload"]["retries"]
    assert [r["after"] for r in retries] == ["HTTP 429", "HTTP 429"]
    assert all(r["wait_ms"] >= 30 for r in retries)  # the SDK waited as the server's retry-after-ms said

    assert main(["show", "last", "--store", str(store_path)]) == 0
    assert "retried 2× after HTTP 429 ×2, waited " in " ".join(capsys.readouterr().out.split())


async def test_a_retry_after_a_timeout_names_the_timeout(serve, client, store_path, recorded) -> None:
    server = serve([Reply(content="too late", delay_s=1.0), Reply(content="On time.")])
    agent = AssistantAgent("slow", model_client=client(server, timeout=0.3, max_retries=1))
    async with teamtape.record(store=store_path):
        result = await agent.run(task="Hurry.")

    assert result.messages[-1].content == "On time."
    db = recorded()
    (event,) = db.events(db.top_run()["run_id"], "llm_call")
    assert [r["after"] for r in event["payload"]["retries"]] == ["ReadTimeout"]
    assert db.one("SELECT retries FROM llm_calls") == {"retries": 1}


async def test_a_model_call_made_outside_any_team_is_a_run_of_its_own(
    serve, client, store_path, recorded, stream, capsys
) -> None:
    from autogen_core.models import SystemMessage, UserMessage

    server = serve(["Paris.", Reply(error_status=500, error_message="The model is overloaded.")])
    model = client(server, max_retries=0)
    asked = [SystemMessage(content="Be brief."), UserMessage(content="Capital of France?", source="user")]
    async with teamtape.record(store=store_path):  # the handbook's first sample: a client called directly
        if stream:
            answer = [item async for item in model.create_stream(asked)][-1]
        else:
            answer = await model.create(asked)
        with pytest.raises(Exception, match="overloaded"):
            await model.create([UserMessage(content="And of Spain?", source="user")])

    assert answer.content == "Paris."
    db = recorded()
    runs = db.rows("SELECT * FROM runs ORDER BY started_at")
    assert [(r["team_type"], r["task"], r["status"], r["llm_calls"]) for r in runs] == [
        ("OpenAIChatCompletionClient", "Capital of France?", "ok", 1),
        ("OpenAIChatCompletionClient", "And of Spain?", "error", 1),
    ]
    assert runs[0]["cost_usd"] > 0 and "overloaded" in runs[1]["error"]
    assert runs[0]["session_id"] == runs[1]["session_id"]  # one client's calls, as a team's runs
    call = db.one("SELECT agent, streamed, request FROM llm_calls WHERE run_id = ?", runs[0]["run_id"])
    assert (call["agent"], call["streamed"]) == (None, stream)
    assert [m["content"] for m in db.sent("run_id = ?", runs[0]["run_id"])[0]] == [
        "Be brief.",
        "Capital of France?",
    ]

    assert main(["show", runs[0]["run_id"], "--store", str(store_path)]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "◆ llm (no agent) gpt-4o-mini" in shown
    assert f"teamtape export tape {runs[0]['run_id']}" in shown and "teamtape replay" not in shown
    # A call this cheap reads as what it cost, not as a row of zeros.
    assert main(["runs", "--store", str(store_path)]) == 0
    assert re.search(r"\$0\.0*[1-9]\d", capsys.readouterr().out)
    # No team to run again: replay says so, and what serves the answer offline instead.
    replayed = subprocess.run(
        [sys.executable, "-m", "teamtape", "replay", runs[1]["run_id"], "--store", str(store_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = " ".join(replayed.stderr.split())
    assert replayed.returncode == 2, said
    assert f"Run {runs[1]['run_id']} is a model call your script made outside any team or agent" in said
    assert "teamtape.replay.ReplayChatCompletionClient(TAPE)" in said


async def test_a_stream_a_script_never_reads_asked_nothing_and_is_no_run(
    serve, client, store_path, recorded
) -> None:
    from autogen_core.models import UserMessage

    server = serve(["Paris."])
    model = client(server)
    async with teamtape.record(store=store_path):
        unread = model.create_stream([UserMessage(content="Capital of France?", source="user")])
        answer = await model.create([UserMessage(content="Capital of France?", source="user")])
    del unread

    assert answer.content == "Paris." and len(server.requests) == 1
    assert [r["task"] for r in recorded().runs()] == ["Capital of France?"]  # the create, not the stream


async def test_a_stream_let_go_half_read_leaves_a_tape_that_serves_the_other_calls(
    serve, client, store_path, recorded, tmp_path
) -> None:
    from autogen_core.models import CreateResult, UserMessage

    from teamtape.replay import ReplayChatCompletionClient, ReplayMismatchError, export_tape

    server = serve([Reply(content="Paris is the capital."), Reply(content="Rome is the capital.")])
    model = client(server)
    france = [UserMessage(content="Capital of France?", source="user")]
    async with teamtape.record(store=store_path):
        whole = [item async for item in model.create_stream(france)][-1]
        stream = model.create_stream([UserMessage(content="Capital of Italy?", source="user")])
        async for _ in stream:
            break  # the script has seen enough
        await stream.aclose()

    db = recorded()
    runs = db.rows("SELECT run_id, status, stop_reason FROM runs ORDER BY started_at")
    assert [(r["status"], r["stop_reason"]) for r in runs] == [
        ("ok", None),
        ("cancelled", "the caller stopped reading the stream"),
    ]
    (let_go,) = db.events(runs[1]["run_id"], "llm_call")
    assert let_go["payload"]["stopped_reading"] and not let_go["payload"].get("error")
    assert db.one("SELECT failed_calls FROM runs WHERE run_id = ?", runs[1]["run_id"])["failed_calls"] == 0
    # The tape of the first call (its session holds the other) serves it.
    export_tape(db.store, runs[0]["run_id"], tmp_path / "france.tape.json")
    served = [
        item async for item in ReplayChatCompletionClient(tmp_path / "france.tape.json").create_stream(france)
    ]
    assert isinstance(served[-1], CreateResult) and served[-1].content == whole.content
    # The call let go has no answer to serve, and a request for it is told so.
    replay = ReplayChatCompletionClient(tmp_path / "france.tape.json")
    with pytest.raises(ReplayMismatchError, match="its caller stopped reading the answer's stream"):
        async for _ in replay.create_stream([UserMessage(content="Capital of Italy?", source="user")]):
            pass
