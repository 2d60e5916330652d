"""The command line as a user drives it: record a script, list, show, cost, sql, and errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import BaseChatMessage, TextMessage
from autogen_agentchat.tools import AgentTool

import teamtape
from teamtape.cli import main
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall

TEAMTAPE = str(Path(sys.executable).with_name("teamtape"))

USER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {support!r})
    from teamtape.demo.server import ScriptedOpenAIServer
    from teams import order_replies, order_team

    async def main():
        with ScriptedOpenAIServer(order_replies(3)) as server:
            result = await order_team(server).run(task="Where is order A-0?")
            print("STOP", result.stop_reason)
        sys.exit(int(sys.argv[1]))

    asyncio.run(main())
    """
)


@pytest.fixture(scope="module")
def recorded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store recorded by running an unmodified script under `teamtape run`."""
    tmp = tmp_path_factory.mktemp("cli")
    script = tmp / "my_team.py"
    script.write_text(USER_SCRIPT.format(support=str(Path(__file__).parents[1] / "support")))
    store = tmp / "store"
    proc = subprocess.run(
        [TEAMTAPE, "run", "--store", str(store), "--name", "orders", "--label", "env=test", str(script), "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr  # the script's exit code passes through
    assert "STOP Maximum number of messages" in proc.stdout
    assert "recorded 1 run(s)" in proc.stderr
    return store


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_runs_json_lists_the_recorded_run(recorded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "runs", "--store", str(recorded_store))
    (run,) = doc["runs"]
    assert run["name"] == "orders" and run["team_type"] == "RoundRobinGroupChat" and run["status"] == "ok"
    assert run["llm_calls"] == 4 and run["tool_calls"] == 2
    assert run["cost_usd"] > 0


def test_show_json_has_the_timeline(recorded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "show", "last", "--store", str(recorded_store))
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds[0] == "run_started" and kinds[-1] == "run_ended"
    assert doc["run"]["task"] == "Where is order A-0?"
    tool = next(e for e in doc["events"] if e["kind"] == "tool_call")
    assert tool["payload"]["tool"] == "lookup_order" and "shipped" in tool["payload"]["result"]
    assert doc["events"][0]["payload"]["labels"] == {"env": "test"}


def test_show_renders_who_said_what(recorded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "last", "--store", str(recorded_store)]) == 0
    out = capsys.readouterr().out
    assert "user: Where is order A-0?" in out
    assert "lookup_order" in out and "gpt-4o-mini" in out
    assert "run ok" in out
    # The commands it suggests next read the same store, as the user named it.
    hints = " ".join(out.split("next:", 1)[1].split())
    assert f"--store {recorded_store} --json" in hints and f"teamtape sql --store {recorded_store} " in hints


@pytest.mark.parametrize("width", [80, 200])
def test_runs_fit_the_terminal(
    recorded_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["runs", "--store", str(recorded_store)]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert len(header) <= width and len(row) <= width  # a row is one line: nothing wraps
    assert "orders" in row and " ok " in row and "$" in row  # the name, the status and the cost stay
    assert ("tokens in/out" in header) == (width == 200)  # a narrow terminal leaves out detail first


def test_cost_by_agent_adds_up(recorded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_agent = run_json(capsys, "cost", "--by", "agent", "--store", str(recorded_store))
    by_model = run_json(capsys, "cost", "--by", "model", "--store", str(recorded_store))
    runs = run_json(capsys, "runs", "--store", str(recorded_store))
    assert {g["key"] for g in by_agent["groups"]} == {"clerk", "reviewer"}
    assert by_agent["total_cost_usd"] == pytest.approx(by_model["total_cost_usd"])
    assert by_model["total_cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in runs["runs"]))
    assert by_model["unpriced_calls"] == 0
    assert main(["cost", "--by", "day", "--store", str(recorded_store)]) == 0
    assert capsys.readouterr().out.startswith("day (UTC)")  # not the local days show and the TUI use


def test_sql_json_and_read_only(recorded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(
        capsys,
        "sql",
        "SELECT agent, count(*) AS n FROM llm_calls GROUP BY agent ORDER BY agent",
        "--store",
        str(recorded_store),
    )
    assert doc["rows"] == [{"agent": "clerk", "n": 2}, {"agent": "reviewer", "n": 2}]
    assert main(["sql", "DELETE FROM runs", "--store", str(recorded_store)]) == 2
    assert "read-only" in capsys.readouterr().err
    for empty in ("", "-- only a comment", ";"):
        assert main(["sql", empty, "--store", str(recorded_store)]) == 2
        assert "the query is empty" in capsys.readouterr().err


def test_unknown_run_names_close_matches(recorded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = run_json(capsys, "runs", "--store", str(recorded_store))["runs"][0]["run_id"]  # type: ignore[index]
    typo = run_id[:5] + ("0" if run_id[5] != "0" else "1") + run_id[6:10]
    assert main(["show", typo, "--store", str(recorded_store)]) == 2
    err = capsys.readouterr().err
    assert f"No run '{typo}'" in err and f"Close matches: {run_id}." in err
    assert f"`teamtape runs --store {recorded_store}` lists this store's runs" in err
    # An id like none of them gets no suggestions: they would only be unrelated ids.
    assert main(["show", "zzzzzzzz", "--store", str(recorded_store)]) == 2
    err = capsys.readouterr().err
    assert "No run 'zzzzzzzz'" in err and "Close matches" not in err


def test_missing_store_explains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--store", str(tmp_path / "none")]) == 2
    assert "teamtape demo" in capsys.readouterr().err
    # A directory that is not a store (a mistyped --store) is reported and left as it was.
    (tmp_path / "project").mkdir()
    assert main(["runs", "--store", str(tmp_path / "project")]) == 2
    assert "No teamtape store at" in capsys.readouterr().err
    assert list((tmp_path / "project").iterdir()) == []


def test_busy_store_waits_then_explains(
    recorded_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl
    import os

    from teamtape.store import open_store

    monkeypatch.setenv("TEAMTAPE_BUSY_TIMEOUT", "0.3")
    fd = os.open(recorded_store / ".write.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert main(["runs", "--store", str(recorded_store)]) == 2
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "is busy" in err and "for 0.3 s" in err and "TEAMTAPE_BUSY_TIMEOUT=60" in err
    # A teamtape process that holds the store is named (here: this one, by another connection).
    with open_store(recorded_store).connect():
        assert main(["runs", "--store", str(recorded_store)]) == 2
    assert f"is busy: process {os.getpid()} (`" in capsys.readouterr().err


def test_json_output_is_only_json(recorded_store: Path) -> None:
    proc = subprocess.run(
        [TEAMTAPE, "runs", "--json", "--store", str(recorded_store)], capture_output=True, text=True
    )
    assert proc.returncode == 0
    json.loads(proc.stdout)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and re.fullmatch(r"teamtape \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_run_requires_a_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["run"]) == 2
    assert "give a script" in capsys.readouterr().err
    assert main(["run", "no_such_file.py"]) == 2
    assert "no such script" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--store", str(tmp_path / "s"), "-m", "no_such_module_here"]) == 2
    assert "no module named no_such_module_here" in capsys.readouterr().err
    assert not (tmp_path / "s").exists(), "nothing is recorded for a module that is not there"


def test_run_redacts_the_patterns_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "my_team.py"
    script.write_text(USER_SCRIPT.format(support=str(Path(__file__).parents[1] / "support")))
    store = tmp_path / "store"
    assert main(["run", "--store", str(store), "--redact", "(unclosed", str(script), "0"]) == 2
    assert (
        "--redact: redaction pattern '(unclosed' is not a valid regular expression" in capsys.readouterr().err
    )
    assert not store.exists(), "nothing ran"
    proc = subprocess.run(
        [TEAMTAPE, "run", "--store", str(store), "--redact", r"A-\d+", str(script), "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = run_json(capsys, "show", "last", "--store", str(store))
    assert doc["run"]["task"] == "Where is order [REDACTED]?"
    assert b"A-0" not in b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())


class _Payer(BaseChatAgent):
    """Fails the way user code does: a lookup fails, and the handler of that fails deep down."""

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (TextMessage,)

    async def on_messages(self, messages: Sequence[BaseChatMessage], cancellation_token: Any) -> Response:
        cards: dict[str, str] = {}
        try:
            return Response(chat_message=TextMessage(content=cards["visa"], source=self.name))
        except KeyError:
            _charge_elsewhere(15)
            raise

    async def on_reset(self, cancellation_token: Any) -> None:
        pass


def _charge_elsewhere(depth: int) -> None:
    if depth:
        _retry_charge(depth - 1)
    raise RuntimeError("payment backend failed")


def _retry_charge(depth: int) -> None:
    _charge_elsewhere(depth)  # alternating frames: Python does not fold them as repeats


async def test_a_nested_runs_long_traceback_keeps_its_column_and_its_root_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    replies = [Reply(tool_calls=[ToolCall("payer", {"task": "pay"})]), Reply(content="could not pay")]
    with ScriptedOpenAIServer(replies) as server:
        tool = AgentTool(_Payer("payer", description="pays"))
        agent = AssistantAgent("clerk", model_client=server.client("gpt-4o-mini"), tools=[tool])
        async with teamtape.record(store=store):
            await agent.run(task="Pay for it.")
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["show", "last", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    nested = out[out.index("▶ _Payer") :].split("\n")
    traceback = nested[nested.index(next(line for line in nested if "✗ RuntimeError" in line)) + 1 :]
    traceback = traceback[: next(i for i, line in enumerate(traceback) if "⚙ tool" in line)]
    assert len(traceback) > 10 and all(line.startswith("    │ ") for line in traceback), traceback
    text = "\n".join(traceback)
    assert "more lines in --json; it started here:" in text
    assert "KeyError: 'visa'" in text and 'cards["visa"]' in text, "the root cause and the user's line"
    assert "RuntimeError: payment backend failed" in traceback[-2], "the last exception ends it"


async def test_a_failed_model_call_reads_failed_not_free(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    with ScriptedOpenAIServer([Reply(error_status=500, error_message="the model is overloaded")]) as server:
        agent = AssistantAgent("clerk", model_client=server.client("gpt-4o-mini"))
        async with teamtape.record(store=store):
            with pytest.raises(Exception, match="overloaded"):
                await agent.run(task="Hello?")
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["show", "last", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    call = next(line for line in out.splitlines() if "◆ llm" in line)
    assert "?/? tok  failed" in call and "$" not in call, call
    assert re.search(r"✗ InternalServerError: .*the model is overloaded", out), out


def _lookup_order(order_id: str) -> str:
    """Look an order up."""
    return {"A-1": "shipped"}[order_id]


async def test_a_failing_tool_shows_what_it_raised_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    replies = [
        Reply(tool_calls=[ToolCall("_lookup_order", {"order_id": "A-42"})]),
        Reply(content="Not found."),
    ]
    with ScriptedOpenAIServer(replies) as server:
        agent = AssistantAgent("clerk", model_client=server.client("gpt-4o-mini"), tools=[_lookup_order])
        async with teamtape.record(store=store):
            await agent.run(task="Where is A-42?")
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["show", "last", "--store", str(store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    tool = next(i for i, line in enumerate(lines) if "⚙ tool" in line)
    assert "→ ✗ error: 'A-42'" in lines[tool]
    assert re.search(r"✗ KeyError at test_cli\.py:\d+ in _lookup_order$", lines[tool + 1].rstrip()), lines[
        tool + 1
    ]


def test_run_warns_of_its_own_options_after_the_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "echo_args.py"
    script.write_text("import sys\nprint('script got', sys.argv[1:])\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(script), "--store", "elsewhere"]) == 0
    out, err = capsys.readouterr()
    assert "script got ['--store', 'elsewhere']" in out, "the script still gets its arguments"
    assert "--store comes after the script, so it is passed to the script" in err


def test_run_says_when_nothing_was_recorded(tmp_path: Path) -> None:
    script = tmp_path / "my_team.py"
    script.write_text(USER_SCRIPT.format(support=str(Path(__file__).parents[1] / "support")))
    not_a_directory = tmp_path / "store"
    not_a_directory.write_text("")
    proc = subprocess.run(
        [TEAMTAPE, "run", "--store", str(not_a_directory), str(script), "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "STOP Maximum number of messages" in proc.stdout  # the team ran
    assert "is a file, not a store directory" in proc.stderr
    assert "nothing was recorded" in proc.stderr and "recorded 1 run(s)" not in proc.stderr
    # teamtape's warning is a line for a person: no Python file, line number or source line.
    assert "_recorder.py" not in proc.stderr and "RecorderWarning" not in proc.stderr


def test_demo_records_the_handbook_teams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "demo", "--store", str(tmp_path / "demo"))
    by_name: dict[str, list[dict]] = {}
    for r in doc["runs"]:
        by_name.setdefault(r["name"], []).append(r)
    assert set(by_name) >= {"swarm_support", "selector_research", "memory_and_agent_tool"}
    first, resumed = by_name["swarm_support"]
    assert "handoff" in first["stop_reason"].lower() and resumed["status"] == "ok"
    assert all(r["cost_usd"] and r["cost_usd"] > 0 for r in doc["runs"] if r["status"] == "ok")
    nested = run_json(
        capsys,
        "sql",
        "SELECT count(*) AS n FROM runs WHERE parent_run_id IS NOT NULL",
        "--store",
        str(tmp_path / "demo"),
    )
    assert nested["rows"][0]["n"] >= 1, "the AgentTool call is a nested run"
    # The nested run's messages are shown in its block, not again where the agent passed them on.
    (with_tool,) = by_name["memory_and_agent_tool"]
    assert main(["show", with_tool["run_id"], "--store", str(tmp_path / "demo")]) == 0
    shown = capsys.readouterr().out
    assert (
        shown.count("translator: Prueba") == 1
        and "│ " in shown.split("translator: Prueba")[0].splitlines()[-1]
    )
    (failed,) = by_name["failing_tool_run"]
    assert failed["failed_calls"] == 2  # the tool that raised, the model call that got a 500
    failures = run_json(capsys, "runs", "--status", "failures", "--store", str(tmp_path / "demo"))
    assert [r["run_id"] for r in failures["runs"]] == [failed["run_id"]]
    assert main(["show", failed["run_id"], "--store", str(tmp_path / "demo")]) == 0
    shown = capsys.readouterr().out
    # The model call that got a 500 reported no usage: its tokens are unknown, not zero.
    assert "?/? tok" in shown and "0/0 tok" not in shown
    assert "retried 2× after HTTP 500 ×2" in " ".join(shown.split())  # the openai SDK tried twice more
    # Its traceback reads as AutoGen's and the provider's: teamtape's own wrapper frames are left out
    # (and said to be), while --json keeps the traceback as recorded.
    flat = shown.replace("\n", "")  # long paths fold at the terminal's width: read them whole
    assert "InternalServerError" in flat and "_openai_client.py" in flat
    assert "/recorder/_" not in flat and "teamtape frames left out" in flat
    as_recorded = run_json(capsys, "show", failed["run_id"], "--json", "--store", str(tmp_path / "demo"))
    assert "/recorder/_turns.py" in json.dumps(as_recorded)
    # A failed tool call is marked in words, not by colour alone (piped output has no colour).
    assert "→ ✗ error: unknown quarter '2025-Q5'" in flat
    # Replaying the failed run reports the verdict; autogen's own logging of the error stays quiet.
    replayed = subprocess.run(
        [TEAMTAPE, "replay", failed["run_id"], "--store", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 0 and "identical" in replayed.stdout
    assert replayed.stderr == ""


def test_show_gives_local_times_as_the_tui_does(recorded_store: Path) -> None:
    import os
    import zoneinfo

    (run,) = teamtape.open_store(recorded_store).query(
        "SELECT run_id, epoch(started_at) AS epoch FROM runs WHERE parent_run_id IS NULL ORDER BY started_at LIMIT 1"
    )
    env = {**os.environ, "TZ": "America/New_York"}
    local = dt.datetime.fromtimestamp(run["epoch"], zoneinfo.ZoneInfo("America/New_York"))
    shown = subprocess.run(
        [TEAMTAPE, "show", run["run_id"], "--store", str(recorded_store)],
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert f"started {local:%m-%d %H:%M:%S} {local:%Z}" in shown  # the zone is named
    assert f"\n{local:%H:%M:%S}." in shown  # and the events' times are in it
    tui = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from teamtape.tui._format import fmt_started; print(fmt_started({run['epoch']}))",
        ],
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert tui.strip() == f"{local:%Y-%m-%d %H:%M:%S}"  # the TUI's start time: the same moment, same zone


def test_demo_table_marks_the_run_whose_calls_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--store", str(tmp_path / "demo"), "--only", "failing_tool_run"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "failing_tool_run" in line)
    assert "error ⚠2" in row  # the tool that raised and the model call that got a 500
