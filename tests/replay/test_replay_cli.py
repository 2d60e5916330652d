"""``teamtape replay`` and ``teamtape diff`` from the command line: exit codes, output, forks, bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat

import teamtape
from teamtape.cli import main
from teamtape.demo.server import ScriptedOpenAIServer
from tests.support import handbook_teams as H

DEAD_URL = "http://127.0.0.1:9/v1"


def diverging_team() -> Any:
    """``--factory test_replay_cli:diverging_team``: the round-robin team, stopped after 3 messages."""
    team = H.build_round_robin(H.dead_client_maker(DEAD_URL))
    team._termination_condition = MaxMessageTermination(3)
    return team


def reworded_team() -> Any:
    """The round-robin team with the critic's prompt changed."""
    team = H.build_round_robin(H.dead_client_maker(DEAD_URL))
    team._participants[1]._system_messages[0].content = "You critique poems harshly."
    return team


def team_with_an_editor() -> Any:
    """The round-robin team with an agent the recording never had, speaking first."""
    team = H.build_round_robin(H.dead_client_maker(DEAD_URL))
    writer, critic = team._participants
    editor = AssistantAgent("editor", model_client=writer._model_client, system_message="You edit poems.")
    return RoundRobinGroupChat([editor, writer, critic], termination_condition=team._termination_condition)


def team_that_goes_on() -> Any:
    """The round-robin team whose critic's approval no longer ends the run."""
    team = H.build_round_robin(H.dead_client_maker(DEAD_URL))
    team._termination_condition = MaxMessageTermination(9)
    return team


@pytest.fixture
async def recorded(tmp_path: Path) -> tuple[str, str, str]:
    """(store, first run id, dead base URL) of a recorded round-robin team."""
    run_ids, dead_url, _ = await H.record_pattern(H.ROUND_ROBIN, tmp_path / "store")
    return str(tmp_path / "store"), run_ids[0], dead_url


def test_replay_is_identical_and_exits_0(recorded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id, _ = recorded
    assert main(["--store", store, "replay", run_id[:8]]) == 0
    out = capsys.readouterr().out
    assert f"run {run_id} -> replay " in out and "identical (5 messages)" in out
    assert "served from the recording: 4 model calls" in out

    assert main(["--store", store, "replay", "last", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["identical"] is True and document["served"]["model_served"] == 4
    assert document["runs"][0]["first_divergence"] is None
    rows = teamtape.open_store(store).query("SELECT count(*) AS n FROM runs WHERE replay_of IS NOT NULL")
    assert rows[0]["n"] == 2

    # `runs` tells replays apart, and `cost` does not count the calls they answered from the recording.
    assert main(["--store", store, "runs"]) == 0
    assert sum("(replay)" in line for line in capsys.readouterr().out.splitlines()) == 2
    (recorded_calls,) = teamtape.open_store(store).query(
        "SELECT count(*) AS n FROM llm_calls WHERE run_id IN (SELECT run_id FROM runs WHERE replay_of IS NULL)"
    )
    assert main(["--store", store, "cost", "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    assert sum(g["llm_calls"] for g in cost["groups"]) == recorded_calls["n"]
    assert cost["replayed_calls"] == 2 * 4


def test_replay_with_a_factory(
    recorded: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id, dead_url = recorded
    monkeypatch.setenv("TEAMTAPE_TEST_PATTERN", "round_robin")
    monkeypatch.setenv("TEAMTAPE_TEST_BASE_URL", dead_url)
    assert (
        main(
            ["--store", store, "replay", run_id, "--factory", "tests.support.handbook_teams:factory_from_env"]
        )
        == 0
    )
    assert "identical" in capsys.readouterr().out
    # The factory's team answered through OpenAI clients, served from the recording: cost leaves them out.
    assert main(["--store", store, "cost", "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    assert (sum(g["llm_calls"] for g in cost["groups"]), cost["replayed_calls"]) == (4, 4)


def test_a_diverging_replay_exits_1_with_the_diff(recorded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id, _ = recorded
    assert main(["--store", store, "replay", run_id, "--factory", "test_replay_cli:diverging_team"]) == 1
    out = capsys.readouterr().out
    assert "diverges from message 4" in out
    assert "-[4] writer TextMessage:" in out
    assert (
        "ended: ok (Text 'APPROVE' mentioned)" in out
        and "vs  ok (Maximum number of messages 3 reached" in out
    )


def test_an_unmatched_request_exits_1_naming_it(recorded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id, _ = recorded
    assert main(["--store", store, "replay", run_id, "--factory", "test_replay_cli:reworded_team"]) == 1
    out = capsys.readouterr().out
    assert "No recorded model call matches call 1 of agent 'critic'" in out
    assert "+  You critique poems harshly." in out
    # What to do if the change was meant, in terms of the CLI (it has no record modes).
    assert "record the team again (`teamtape run your_script.py`" in out and "record mode" not in out


@pytest.mark.parametrize(
    ("factory", "said"),
    [
        (
            "team_with_an_editor",
            "The recording has no model call by 'editor' (its calls are by critic, writer)",
        ),
        ("team_that_goes_on", "this replay went further than the recorded run"),
    ],
)
def test_a_mismatch_says_what_the_recording_lacks(
    recorded: Any, capsys: pytest.CaptureFixture[str], factory: str, said: str
) -> None:
    store, run_id, _ = recorded
    assert main(["--store", store, "replay", run_id, "--factory", f"test_replay_cli:{factory}"]) == 1
    assert said in " ".join(capsys.readouterr().out.split())


def test_list_calls_numbers_them_as_fork_at_counts(recorded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id, _ = recorded
    assert main(["--store", store, "replay", run_id, "--list-calls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["1", "writer"],
        ["2", "critic"],
        ["3", "writer"],
        ["4", "critic"],
    ]
    assert lines[1].endswith("Too short: add a second line.")


def test_diff_of_two_runs(recorded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id, _ = recorded
    main(["--store", store, "replay", run_id, "--json"])
    replay_id = json.loads(capsys.readouterr().out)["replay_runs"][0]
    assert main(["--store", store, "diff", run_id, replay_id]) == 0
    assert "are the same (5 messages)" in capsys.readouterr().out

    main(["--store", store, "replay", run_id, "--factory", "test_replay_cli:diverging_team", "--json"])
    short_id = json.loads(capsys.readouterr().out)["replay_runs"][0]
    assert main(["--store", store, "diff", run_id, short_id, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["first_divergence"] == 4 and document["messages"] == [5, 3]


async def test_fork_continues_live_with_a_changed_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Any] = []
    script = H.round_robin_script()
    script.route("harsh", system_contains="harsh critic").then("Add the sea.", "APPROVE")
    script.route("writer, again", system_contains="You write").then(
        "The sea is blue.", "The sea is blue, so are you."
    )
    with ScriptedOpenAIServer(script) as server:
        async with teamtape.record(store=tmp_path / "store") as recording:
            await H.run_pattern(H.ROUND_ROBIN, H.server_client_maker(server, made))
        await H.close_all(made)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fork-0123456789abcdef")
        args = [
            "--store",
            str(tmp_path / "store"),
            "replay",
            recording.run_ids[0],
            "--fork-at",
            "3",
            "--system-message",
            "critic=You are a harsh critic.",
            "--json",
        ]
        code, out = await _run_cli(args)
        assert code == 0
        assert script.served[4:] == ["writer, again", "harsh", "writer, again", "harsh"]
    document = json.loads(out)
    assert (
        document["fork_at"] == 3
        and document["served"]["model_served"] == 2
        and document["served"]["model_live"] == 4
    )
    assert document["runs"][0]["first_divergence"] == 4
    rows = teamtape.open_store(tmp_path / "store").query(
        "SELECT fork_of, status FROM runs WHERE fork_of IS NOT NULL"
    )
    assert rows == [{"fork_of": recording.run_ids[0], "status": "ok"}]


async def test_fork_with_another_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    script = H.round_robin_script()
    script.route("critic on gpt-4o", model="gpt-4o").then("APPROVE")
    with ScriptedOpenAIServer(script) as server:
        async with teamtape.record(store=tmp_path / "store") as recording:
            await H.run_pattern(H.ROUND_ROBIN, H.server_client_maker(server, made))
        await H.close_all(made)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fork-0123456789abcdef")
        code, out = await _run_cli(
            [
                "--store",
                str(tmp_path / "store"),
                "replay",
                recording.run_ids[0],
                "--fork-at",
                "2",
                "--model",
                "gpt-4o",
                "--json",
            ]
        )
        assert code == 0, out
        assert [r["model"] for r in server.requests[4:]] == ["gpt-4o"]
    document = json.loads(out)
    assert document["runs"][0]["first_divergence"] == 3 and document["runs"][0]["messages"] == [5, 3]

    # The live model is gone now: a fork that fails says so and exits 1, scripts can tell.
    code, out = await _run_cli(
        ["--store", str(tmp_path / "store"), "replay", recording.run_ids[0], "--fork-at", "2"]
    )
    assert code == 1 and "the fork failed: RuntimeError: APIConnectionError" in out
    code, out = await _run_cli(["--store", str(tmp_path / "store"), "runs"])
    assert sum(line.lstrip().startswith("(fork)") or " (fork) " in line for line in out.splitlines()) == 2


async def _run_cli(args: list[str]) -> tuple[int, str]:
    """Run the CLI (which starts its own event loop) in a thread, capturing stdout."""
    import asyncio
    import contextlib
    import io

    buffer = io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(buffer):
            return main(args)

    code = await asyncio.to_thread(call)
    return code, buffer.getvalue()


def test_bad_input_is_explained(recorded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id, _ = recorded
    assert main(["--store", store, "replay", run_id, "--factory", "no_such_module:build"]) == 2
    assert "Cannot import the factory module 'no_such_module'" in capsys.readouterr().err
    assert main(["--store", store, "replay", run_id, "--factory", "build_team"]) == 2
    assert "--factory must look like module:callable" in capsys.readouterr().err
    assert main(["--store", store, "replay", run_id, "--system-message", "critic=Be nice."]) == 2
    assert "need --fork-at N" in capsys.readouterr().err
    assert main(["--store", store, "replay", "ffffffffff"]) == 2
    assert "No run 'ffffffffff'" in capsys.readouterr().err
    assert main(["--store", store, "replay", run_id, "--fork-at", "9"]) == 2
    assert "the recorded session has 4 model calls" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--store", store, "replay", run_id, "--fork-at", "0"])
    assert "not a model call number" in capsys.readouterr().err


def test_execute_tools_needs_a_team_with_its_real_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A team rebuilt from its config has stand-ins for its function tools: nothing real could run."""
    asyncio.run(H.record_pattern(H.SELECTOR, tmp_path / "store"))
    assert main(["--store", str(tmp_path / "store"), "replay", "last", "--execute-tools"]) == 2
    err = capsys.readouterr().err
    assert "--execute-tools runs the real tools" in err and "stand-ins for search_web" in err
    assert "--factory module:callable" in err
