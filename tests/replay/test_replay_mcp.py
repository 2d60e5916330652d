"""An MCP workbench tool call is served from the recording: the MCP server's side effect happens once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import AssistantAgent

import teamtape
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall
from teamtape.replay import replay_run
from tests.support import handbook_teams as H

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_notes_server.py"


def _script() -> Script:
    script = Script()
    script.route("scribe", system_contains="You take notes").then(
        Reply(tool_calls=[ToolCall("add_note", {"text": "buy milk"})]), "Noted: buy milk."
    )
    return script


def _agent(maker: H.ClientMaker, log: Path, workbenches: list[Any]) -> AssistantAgent:
    from autogen_ext.tools.mcp import McpWorkbench, StdioServerParams

    params = StdioServerParams(
        command=sys.executable,
        args=[str(SERVER)],
        env={"TEAMTAPE_TEST_MCP_LOG": str(log)},
        read_timeout_seconds=30,
    )
    workbenches.append(McpWorkbench(params))
    return AssistantAgent(
        "scribe",
        model_client=maker("gpt-4o-mini"),
        workbench=workbenches[-1],
        reflect_on_tool_use=True,
        system_message="You take notes with your tools.",
    )


async def test_mcp_tool_calls_are_served_not_repeated(tmp_path: Path) -> None:
    log = tmp_path / "notes.log"
    made: list[Any] = []
    workbenches: list[Any] = []
    with ScriptedOpenAIServer(_script()) as server:
        async with teamtape.record(store=tmp_path / "store") as recording:
            result = await _agent(H.server_client_maker(server, made), log, workbenches).run(
                task="Remember: buy milk."
            )
        await H.close_all(made)
        dead_url = server.base_url
    assert result.messages[-1].content == "Noted: buy milk." and log.read_text() == "buy milk\n"
    store = teamtape.open_store(tmp_path / "store")
    [tool] = store.query("SELECT tool, tool_kind, result FROM tool_calls")
    assert (tool["tool"], tool["tool_kind"]) == ("add_note", "mcp") and "Saved: buy milk" in tool["result"]

    # Rebuilt from its config, the workbench is a stub of the recorded tools: no server is started.
    from_config = await replay_run(store, recording.run_ids[0])
    assert from_config.identical, from_config.render()
    assert from_config.stats.tools_served == 1

    # Built by a factory, the real workbench lists its tools, but the call is served.
    from_factory = await replay_run(
        store,
        recording.run_ids[0],
        factory=lambda: _agent(H.dead_client_maker(dead_url, made), log, workbenches),
    )
    await H.close_all(made)
    for workbench in workbenches:
        await workbench.stop()
    assert from_factory.identical, from_factory.render()
    assert log.read_text() == "buy milk\n"
