"""The pytest plugin, driven through pytester: record once, replay offline, fail with the diff."""

from __future__ import annotations

from pathlib import Path

import autogen_agentchat.agents  # noqa: F401  (imported once here: pytester drops modules an inner run imports)
import autogen_ext.models.openai  # noqa: F401
import pytest

import teamtape.replay._interceptor
import teamtape.replay._tapefile  # noqa: F401
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall

pytest_plugins = ["pytester"]

INNER = '''
import os

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient


def refund_flight(flight_id: str) -> str:
    """Refund a flight."""
    with open(os.environ["REFUND_LOG"], "a") as f:
        f.write(flight_id + "\\n")
    return f"Refunded {flight_id}."


async def _agent_run(*tasks):
    client = OpenAIChatCompletionClient(
        model="gpt-4o-mini", base_url=os.environ["BASE_URL"], api_key="sk-test-plugin-0123456789abcdef", max_retries=0
    )
    agent = AssistantAgent("refunder", model_client=client, tools=[refund_flight],
                           reflect_on_tool_use=os.environ.get("REFLECT", "1") == "1",
                           system_message=os.environ.get("PROMPT", "You refund flights."))
    results = [await agent.run(task=task) for task in tasks]
    await client.close()
    return results


@pytest.mark.teamtape
async def test_refund():
    tasks = ["Refund FL-1234, please."] + ([os.environ["EXTRA_TASK"]] if os.environ.get("EXTRA_TASK") else [])
    results = await _agent_run(*tasks)
    assert results[0].messages[-1].content == "Done: FL-1234 is refunded."


async def test_with_the_fixture(teamtape_replay):
    results = await _agent_run("Refund FL-1234, please.")
    assert results[0].messages[-1].content == "Done: FL-1234 is refunded."
    if teamtape_replay.replaying:
        assert teamtape_replay.session.stats.model_served == 2
        assert teamtape_replay.session.stats.tools_served == 1
'''


EARLY_EXIT = """

@pytest.mark.teamtape
async def test_early_exit():
    if os.environ.get("EARLY") == "skip":
        pytest.skip("no refunds today")
    if os.environ.get("EARLY") == "raise":
        raise ValueError("the test's own error")
    if os.environ.get("EARLY") != "return":
        await _agent_run("Refund FL-1234, please.")
"""


def _script(tests: int = 1, extra: bool = False) -> Script:
    script = Script()
    route = script.route("refunder", system_contains="You refund flights")
    for _ in range(tests):
        route.then(
            Reply(tool_calls=[ToolCall("refund_flight", {"flight_id": "FL-1234"})]),
            "Done: FL-1234 is refunded.",
        )
    if extra:
        route.then("It will show up in 5 days.")
    return script


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_inner=INNER)
    monkeypatch.setenv("REFUND_LOG", str(tmp_path / "refunds.log"))
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.delenv("PROMPT", raising=False)
    monkeypatch.delenv("EXTRA_TASK", raising=False)
    monkeypatch.delenv("REFLECT", raising=False)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the inner session in this process (textual's snapshot plugin is global state: keep it out)."""
    return pytester.runpytest(
        "-p",
        "no:textual-snapshot",
        "-p",
        "no:hypothesispytest",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *args,
    )


def _refunds(tmp_path: Path) -> list[str]:
    log = tmp_path / "refunds.log"
    return log.read_text().split() if log.exists() else []


def test_record_once_then_replay_offline_and_fail_with_the_diff(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tape = inner.path / "tapes" / "test_inner" / "test_refund.tape.json"

    missing = run(inner, "-k", "test_refund")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no tape for this test at*test_refund.tape.json*--record-mode=once*"])

    with ScriptedOpenAIServer(_script(tests=2)) as server:
        monkeypatch.setenv("BASE_URL", server.base_url)
        recorded = run(inner, "--record-mode=once")
        recorded.assert_outcomes(passed=2)
        assert len(server.requests) == 4
    assert tape.exists() and _refunds(tmp_path) == ["FL-1234", "FL-1234"]
    assert "sk-test-plugin-0123456789abcdef" not in tape.read_text()
    recorded.stdout.fnmatch_lines(["teamtape: record mode once"])

    # The server is gone: the default mode (none) replays, and the refund is not made again.
    replayed = run(inner)
    replayed.assert_outcomes(passed=2)
    assert _refunds(tmp_path) == ["FL-1234", "FL-1234"]

    monkeypatch.setenv("PROMPT", "You refund flights, politely.")
    changed = run(inner, "-k", "test_refund")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*the test's team asked something its tape*test_refund.tape.json does not hold*",
            "*No recorded model call matches call 1 of agent 'refunder'*",
            "*what changed: system prompt*",
            "-  You refund flights.",
            "+  You refund flights, politely.",
            "If the change is intended, re-record: pytest --record-mode=all (or new_episodes).",
        ]
    )
    assert "Traceback" not in changed.stdout.str().split("short test summary")[0].split("FAILURES")[-1][:200]

    # Asking less than the tape holds is no unmatched request, but the run diverges: the diff says where.
    monkeypatch.delenv("PROMPT")
    monkeypatch.setenv("REFLECT", "0")
    shorter = run(inner, "-k", "test_refund")
    shorter.assert_outcomes(failed=1)
    shorter.stdout.fnmatch_lines(
        [
            "*the replay diverged from the tape*test_refund.tape.json*",
            "*diverges from message 4*",
            "-[4] refunder TextMessage:",
            "+[4] refunder ToolCallSummaryMessage:",
            "*The test itself failed too (the divergence may be why): AssertionError: assert 'Refunded FL-1234.' ==*",
        ]
    )


def test_new_episodes_records_only_what_is_new_and_all_re_records(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tape = inner.path / "tapes" / "test_inner" / "test_refund.tape.json"
    with ScriptedOpenAIServer(_script()) as server:
        monkeypatch.setenv("BASE_URL", server.base_url)
        run(inner, "--record-mode=once", "-k", "test_refund").assert_outcomes(passed=1)
    first = tape.read_text()

    monkeypatch.setenv("EXTRA_TASK", "When will I see the money?")
    offline = run(inner, "-k", "test_refund")
    offline.assert_outcomes(failed=1)
    offline.stdout.fnmatch_lines(["*No recorded model call matches call 3 of agent 'refunder'*"])

    extra_only = Script()
    extra_only.route("refunder", system_contains="You refund flights").then("It will show up in 5 days.")
    with ScriptedOpenAIServer(extra_only) as server:
        monkeypatch.setenv("BASE_URL", server.base_url)
        run(inner, "--record-mode=new_episodes", "-k", "test_refund").assert_outcomes(passed=1)
        assert len(server.requests) == 1
    assert tape.read_text() != first
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:9/v1")
    run(inner, "-k", "test_refund").assert_outcomes(passed=1)
    assert _refunds(tmp_path) == ["FL-1234"]

    monkeypatch.delenv("EXTRA_TASK")
    with ScriptedOpenAIServer(_script()) as server:
        monkeypatch.setenv("BASE_URL", server.base_url)
        run(inner, "--record-mode=all", "-k", "test_refund").assert_outcomes(passed=1)
        assert len(server.requests) == 2
    assert _refunds(tmp_path) == ["FL-1234", "FL-1234"]
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:9/v1")
    run(inner, "-k", "test_refund").assert_outcomes(passed=1)


def test_a_bad_record_mode_is_a_usage_error(inner: pytest.Pytester) -> None:
    result = run(inner, "--record-mode=sometimes", "-k", "test_refund")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*valid modes are: none, once, new_episodes, all*"])


def _record_once(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, source: str, test: str
) -> None:
    """Write the inner test module ``name`` and record the tape of its ``test`` (one refund)."""
    inner.makepyfile(**{name: source})
    with ScriptedOpenAIServer(_script()) as server:
        monkeypatch.setenv("BASE_URL", server.base_url)
        run(inner, "--record-mode=once", "-k", test).assert_outcomes(passed=1)


def test_the_tests_own_skip_or_error_comes_through(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_once(inner, monkeypatch, "test_early", INNER + EARLY_EXIT, "test_early_exit")

    monkeypatch.setenv("EARLY", "skip")
    run(inner, "-k", "test_early_exit").assert_outcomes(skipped=1)

    monkeypatch.setenv("EARLY", "raise")
    raised = run(inner, "-k", "test_early_exit")
    raised.assert_outcomes(failed=1)
    raised.stdout.fnmatch_lines(["*ValueError: the test's own error*"])
    assert "No teamtape store" not in raised.stdout.str()

    monkeypatch.setenv("EARLY", "return")
    no_team = run(inner, "-k", "test_early_exit")
    no_team.assert_outcomes(failed=1)
    no_team.stdout.fnmatch_lines(
        ["*the test ran no AutoGen team, but its tape*test_early_exit.tape.json holds 1 run(s)*"]
    )


LOOSE = """

from teamtape.replay import match_model, match_tools


@pytest.mark.teamtape(matchers=[match_model, match_tools])
async def test_prompt_may_change():
    results = await _agent_run("Refund FL-1234, please.")
    assert results[0].messages[-1].content == "Done: FL-1234 is refunded."
"""


def test_the_marker_takes_matchers(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A prompt that changes from run to run (today's date in it) need not fail the test."""
    _record_once(inner, monkeypatch, "test_loose", INNER + LOOSE, "test_prompt_may_change")
    monkeypatch.setenv("PROMPT", "You refund flights. Today is 2026-11-24.")
    run(inner, "-k", "test_prompt_may_change").assert_outcomes(passed=1)
