"""Tools from a real stdio MCP server, and code written by a model and run by CodeExecutorAgent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent, CodeExecutorAgent
from autogen_ext.tools.mcp import McpWorkbench, StdioServerParams

import teamtape
from teamtape.demo.server import Reply, ToolCall

MCP_SERVER = Path(__file__).parents[1] / "support" / "mcp_calc_server.py"


def local_executor(work_dir: Path) -> Any:
    """A LocalCommandLineCodeExecutor (imported here: its package also imports the Docker executor)."""
    try:
        from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor
    except RuntimeError as e:
        pytest.fail(
            f"cannot import LocalCommandLineCodeExecutor ({e}). With the `docker` package installed "
            "(moto[server] brings it) autogen_ext.code_executors also needs `asyncio-atexit`: pip install asyncio-atexit"
        )
    return LocalCommandLineCodeExecutor(work_dir=work_dir, timeout=30)


async def test_mcp_workbench_tool_calls_are_recorded_as_mcp(serve, client, store_path, recorded) -> None:
    server = serve(
        [
            Reply(
                tool_calls=[ToolCall("add_numbers", {"a": 19, "b": 23}), ToolCall("shout", {"text": "hi"})]
            ),
            Reply(tool_calls=[ToolCall("explode", {})]),
            "19 + 23 = 42, and the third tool failed.",
        ]
    )
    params = StdioServerParams(command=sys.executable, args=[str(MCP_SERVER)], read_timeout_seconds=20)
    async with McpWorkbench(params) as workbench:
        agent = AssistantAgent(
            "mcp_user",
            model_client=client(server),
            workbench=workbench,
            reflect_on_tool_use=True,
            max_tool_iterations=3,
        )
        async with teamtape.record(store=store_path):
            result = await agent.run(task="Add 19 and 23, shout hi, then explode.")

    db = recorded()
    run = db.top_run()
    db.assert_messages_match(run["run_id"], result.messages)
    tools = db.rows("SELECT * FROM tool_calls ORDER BY seq")
    assert [(t["tool"], t["tool_kind"], t["arguments"], t["is_error"]) for t in tools] == [
        ("add_numbers", "mcp", {"a": 19, "b": 23}, False),
        ("shout", "mcp", {"text": "hi"}, False),
        ("explode", "mcp", {}, True),
    ]
    assert [t["result"] for t in tools[:2]] == ["42", "HI"]
    assert "the explode tool always fails" in tools[2]["result"]
    assert {t["agent"] for t in tools} == {"mcp_user"}
    # The model was offered the server's tools, as listed by the server.
    offered = db.blob(db.rows("SELECT request FROM llm_calls ORDER BY ts")[0]["request"]["tools"])
    assert sorted(t["name"] for t in offered) == ["add_numbers", "explode", "shout"]


@pytest.mark.filterwarnings("ignore:Using LocalCommandLineCodeExecutor", "ignore:No approval function")
async def test_code_executor_agent_records_generated_and_executed_code(
    serve, client, store_path, recorded, tmp_path
) -> None:
    server = serve(
        [
            "Let me compute it.\n```python\nprint(6 * 7)\n```",
            "The answer is 42.",
        ]
    )
    executor = local_executor(tmp_path / "code")
    agent = CodeExecutorAgent("coder", code_executor=executor, model_client=client(server))
    async with teamtape.record(store=store_path):
        result = await agent.run(task="What is 6 * 7? Use Python.")

    db = recorded()
    run = db.top_run()
    # agent.run() returns only the task and the answer; the recording also has the events the
    # agent streamed in between (what run_stream would have shown).
    assert [m.to_text() for m in result.messages] == ["What is 6 * 7? Use Python.", "The answer is 42."]
    assert db.messages(run["run_id"]) == [
        ("user", "TextMessage"),
        ("coder", "CodeGenerationEvent"),
        ("coder", "CodeExecutionEvent"),
        ("coder", "TextMessage"),
    ]
    execution = db.one("SELECT content FROM messages WHERE type = 'CodeExecutionEvent'")
    assert execution["content"].strip() == "42"
    events = {e["payload"]["type"]: e["payload"] for e in db.events(run["run_id"], "message")}
    assert events["CodeGenerationEvent"]["code_blocks"] == [{"code": "print(6 * 7)\n", "language": "python"}]
    assert events["CodeExecutionEvent"]["result"]["exit_code"] == 0
    assert db.rows("SELECT agent FROM llm_calls") == [{"agent": "coder"}, {"agent": "coder"}]
