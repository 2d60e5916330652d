"""ReplayChatCompletionClient: serving a team from a tape, streaming, usage, tokens, component config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from autogen_core import ComponentModel
from autogen_core.models import ChatCompletionClient, CreateResult, SystemMessage, UserMessage

import teamtape
from teamtape.replay import RecordMode, ReplayChatCompletionClient, ReplayError, Tape, export_tape, read_tape
from tests.support import handbook_teams as H


async def _tape(pattern: H.Pattern, tmp_path: Path) -> tuple[Path, list[Any]]:
    run_ids, _, results = await H.record_pattern(pattern, tmp_path / "store")
    path = tmp_path / f"{pattern.name}.tape.json"
    export_tape(teamtape.open_store(tmp_path / "store"), run_ids[0], path)
    return path, results


def _texts(result: Any) -> list[tuple[str, str]]:
    return [(m.source, m.to_text()) for m in result.messages]


async def test_a_team_runs_on_replay_clients_from_a_tape_file(tmp_path: Path) -> None:
    path, results = await _tape(H.ROUND_ROBIN, tmp_path)
    client = ReplayChatCompletionClient(path)
    team = H.build_round_robin(lambda model="gpt-4o-mini", **_: client)
    result = await team.run(task=H.ROUND_ROBIN.tasks[0])
    assert _texts(result) == _texts(results[0])
    assert client.model == "gpt-4o-mini"
    recorded = [e.payload["usage"] for e in read_tape(path).events("llm_call")]
    assert client.total_usage().prompt_tokens == sum(u["input_tokens"] for u in recorded)
    assert client.total_usage().completion_tokens == sum(u["output_tokens"] for u in recorded)
    assert client.actual_usage().completion_tokens == recorded[-1]["output_tokens"]


async def test_create_stream_re_emits_the_recorded_chunks_then_the_result(tmp_path: Path) -> None:
    path, _ = await _tape(H.STREAMING, tmp_path)
    call = next(read_tape(path).events("llm_call"))
    client = ReplayChatCompletionClient(path)
    messages = [
        SystemMessage(content="You stream answers."),
        UserMessage(content=H.STREAMING.tasks[0], source="user"),
    ]
    items = [item async for item in client.create_stream(messages)]
    assert isinstance(items[-1], CreateResult) and items[-1].cached
    assert all(isinstance(i, str) for i in items[:-1]) and len(items) - 1 == call.payload["chunks"]["n"]
    assert (
        "".join(items[:-1])
        == items[-1].content
        == "Streaming tokens arrive one small piece at a time, in order."
    )
    again = await ReplayChatCompletionClient(path).create(messages)
    assert again.content == items[-1].content


async def test_token_counting_needs_no_tokenizer(tmp_path: Path) -> None:
    path, _ = await _tape(H.MEMORY, tmp_path)
    client = ReplayChatCompletionClient(path, token_limit=1000)
    messages = [UserMessage(content="x" * 400, source="user")]
    assert client.count_tokens(messages) >= 100
    assert client.remaining_tokens(messages) == 1000 - client.count_tokens(messages)
    assert client.model_info["function_calling"] and client.capabilities == client.model_info


async def test_component_config_round_trips_alone_and_inside_a_team(tmp_path: Path) -> None:
    path, results = await _tape(H.ROUND_ROBIN, tmp_path)
    client = ReplayChatCompletionClient(path, record_mode="none")
    model = client.dump_component()
    assert model.provider == "teamtape.replay.ReplayChatCompletionClient"
    assert model.component_type == "model"
    assert model.config["tape"] == str(path) and model.config["record_mode"] == "none"
    assert isinstance(ChatCompletionClient.load_component(model), ReplayChatCompletionClient)

    team = H.build_round_robin(lambda model="gpt-4o-mini", **_: client)
    config = team.dump_component().model_dump(mode="json")
    from autogen_agentchat.teams import RoundRobinGroupChat

    rebuilt = RoundRobinGroupChat.load_component(ComponentModel.model_validate(config))
    result = await rebuilt.run(task=H.ROUND_ROBIN.tasks[0])
    assert _texts(result) == _texts(results[0])


async def test_a_client_built_from_an_in_memory_tape_serializes_the_tape(tmp_path: Path) -> None:
    path, results = await _tape(H.ROUND_ROBIN, tmp_path)
    client = ReplayChatCompletionClient(read_tape(path))
    config = client.dump_component()
    assert config.config["inline"]["teamtape_tape"] == 1
    rebuilt = ChatCompletionClient.load_component(config)
    team = H.build_round_robin(lambda model="gpt-4o-mini", **_: rebuilt)
    assert _texts(await team.run(task=H.ROUND_ROBIN.tasks[0])) == _texts(results[0])


async def test_a_client_reads_a_run_from_a_store(tmp_path: Path) -> None:
    run_ids, _, results = await H.record_pattern(H.ROUND_ROBIN, tmp_path / "store")
    client = ReplayChatCompletionClient(store=str(tmp_path / "store"), run=run_ids[0][:6])
    team = H.build_round_robin(lambda model="gpt-4o-mini", **_: client)
    assert _texts(await team.run(task=H.ROUND_ROBIN.tasks[0])) == _texts(results[0])
    assert isinstance(client.session.tape, Tape)


def test_bad_arguments_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="needs a recording"):
        ReplayChatCompletionClient()
    with pytest.raises(ReplayError, match="valid modes are: none, once, new_episodes, all"):
        ReplayChatCompletionClient(tmp_path / "x.tape.json", record_mode="sometimes")
    with pytest.raises(teamtape.store.ImportFileError, match="No tape at"):
        ReplayChatCompletionClient(tmp_path / "missing.tape.json")
    assert RecordMode.parse("New-Episodes") is RecordMode.NEW_EPISODES


async def test_new_episodes_without_a_real_client_is_a_clear_error(tmp_path: Path) -> None:
    path, _ = await _tape(H.MEMORY, tmp_path)
    client = ReplayChatCompletionClient(path, record_mode="new_episodes")
    with pytest.raises(
        ReplayError, match=r"needs a real model .* give ReplayChatCompletionClient a real_client"
    ):
        await client.create([UserMessage(content="something never recorded", source="user")])


async def test_a_recorded_provider_error_is_raised_again_as_its_own_class(tmp_path: Path) -> None:
    import openai
    from autogen_agentchat.agents import AssistantAgent

    from teamtape.demo.server import Reply, ScriptedOpenAIServer
    from teamtape.replay import RecordedModelError
    from teamtape.replay._errors import recorded_error

    limited = Reply(
        error_status=429,
        error_message="Rate limit reached for gpt-4o-mini.",
        error_code="rate_limit_exceeded",
    )
    with ScriptedOpenAIServer([limited]) as server:
        model = server.client("gpt-4o-mini", api_key="tt-test-key-0123456789abcdefghij")
        with pytest.raises(openai.RateLimitError):
            async with teamtape.record(store=tmp_path / "store"):
                await AssistantAgent("writer", model_client=model).run(task="Write.")
        await model.close()
    store = teamtape.open_store(tmp_path / "store")
    export_tape(store, "last", tmp_path / "limited.tape.json")

    # A team's fallback on rate limits (``except openai.RateLimitError``) runs in its replay too.
    replay = ReplayChatCompletionClient(tmp_path / "limited.tape.json")
    with pytest.raises(openai.RateLimitError) as raised:
        await AssistantAgent("writer", model_client=replay).run(task="Write.")
    error = raised.value
    assert isinstance(error, RecordedModelError) and type(error).__name__ == "RateLimitError"
    assert error.status_code == 429 and error.code == "rate_limit_exceeded"
    assert str(error).startswith("Error code: 429") and str(error).endswith("(replayed from the recording)")
    # Recorded before teamtape noted the error's module: found among the providers' modules.
    older = recorded_error({"type": "RateLimitError", "message": "Error code: 429", "status_code": 429})
    assert isinstance(older, openai.RateLimitError) and older.status_code == 429
    # What would stop the replay itself, or is no provider's, stays a plain RecordedModelError.
    for kind in ("CancelledError", "KeyboardInterrupt", "NoSuchError"):
        assert type(recorded_error({"type": kind, "message": "x"})) is RecordedModelError
    # A class that cannot be rebuilt (pydantic's), and a replay's own error recorded again: plain as well.
    for kind, module in (
        ("ValidationError", "pydantic_core._pydantic_core"),
        ("RecordedModelError", RecordedModelError.__module__),
    ):
        assert type(recorded_error({"type": kind, "module": module, "message": "x"})) is RecordedModelError
    again = recorded_error({"type": "RecordedModelError", "message": str(error)})  # a replay's error replayed
    assert str(again).count("(replayed from the recording)") == 1
    timeout = recorded_error({"type": "APITimeoutError", "module": "openai", "message": "Request timed out."})
    assert isinstance(timeout, openai.APITimeoutError) and str(timeout).endswith(
        "(replayed from the recording)"
    )
