"""Recording without content keeps the shape, tokens and costs of a run, and none of its words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import teamtape
from teamtape.cli import main
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall
from tests.support.teams import order_team

SECRET_PHRASE = "purple-elephant-7731"


async def test_no_content_keeps_structure_and_cost_but_no_words(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = [
        Reply(
            tool_calls=[ToolCall("lookup_order", {"order_id": SECRET_PHRASE})],
            prompt_tokens=120,
            completion_tokens=9,
        ),
        Reply(content=f"Order {SECRET_PHRASE} has shipped.", prompt_tokens=150, completion_tokens=7),
        Reply(content=f"Confirmed {SECRET_PHRASE}.", prompt_tokens=160, completion_tokens=5),
    ] * 2
    with ScriptedOpenAIServer(replies) as server:
        async with teamtape.record(store=store_dir, capture_content=False) as rec:
            result = await order_team(server, max_messages=4).run(task=f"Where is {SECRET_PHRASE}?")
    assert SECRET_PHRASE in result.messages[-1].to_text(), "the team itself is unaffected"

    store = rec.store
    run = store.query("SELECT status, messages, llm_calls, tool_calls, input_tokens, cost_usd FROM runs")[0]
    assert run["status"] == "ok" and run["messages"] == len(result.messages)
    assert run["llm_calls"] >= 2 and run["tool_calls"] == 1 and run["input_tokens"] >= 270
    assert run["cost_usd"] > 0
    assert store.query("SELECT count(*) AS n FROM blobs")[0]["n"] == 0
    everything = b"".join(p.read_bytes() for p in store_dir.rglob("*") if p.is_file())
    dump = "".join(r["p"] for r in store.query("SELECT payload::VARCHAR AS p FROM events"))
    assert SECRET_PHRASE.encode() not in everything and SECRET_PHRASE not in dump
    sizes = store.query("SELECT payload->>'$.arguments' AS a FROM events WHERE kind = 'tool_call'")[0]["a"]
    assert '"$omitted"' in sizes, "the size of what was left out is kept"

    # `teamtape show` says what was left out, in words, instead of printing the stored markers.
    assert main(["show", "last", "--store", str(store_dir)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "$omitted" not in text and SECRET_PHRASE not in text
    assert "task: ‹" in text and "characters not recorded›" in text
    assert "lookup_order(‹" in text  # the tool call is shown, its arguments are not
    # A replay says why it cannot be done (nothing to serve), not that the recording is damaged.
    teamtape_exe = str(Path(sys.executable).with_name("teamtape"))
    replay = subprocess.run(
        [teamtape_exe, "replay", "last", "--store", str(store_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 2 and "was recorded without content" in replay.stderr
    # Nor is it written to a tape, which would fail later as if the team had changed.
    tape = store_dir.parent / "no-content.tape.json"
    assert main(["export", "tape", "last", str(tape), "--store", str(store_dir)]) == 2
    assert "was recorded without content" in capsys.readouterr().err and not tape.exists()


def test_a_failed_tools_error_keeps_only_its_type_without_content() -> None:
    """The message and traceback of what a tool raised repeat its arguments and result."""
    from teamtape.recorder._content import without_content

    raised = {
        "type": "KeyError",
        "message": f"'{SECRET_PHRASE}'",
        "traceback": f"KeyError: '{SECRET_PHRASE}'",
    }
    payload = {"tool": "lookup", "arguments": {"id": SECRET_PHRASE}, "result": SECRET_PHRASE, "error": raised}
    bare = without_content("tool_call", payload)
    assert bare["error"] == {"type": "KeyError"} and SECRET_PHRASE not in str(bare)
