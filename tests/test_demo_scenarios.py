"""The offline demo scenarios run to completion against their scripted servers."""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken
from autogen_agentchat.messages import (
    HandoffMessage,
    MemoryQueryEvent,
    TextMessage,
    ThoughtEvent,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
)

import teamtape.demo
from teamtape.demo.scenarios import SCENARIOS, Scenario, ScenarioContext, get_scenario, run_all
from teamtape.demo.script import Script


@pytest.fixture(autouse=True)
def no_tiktoken(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """count_tokens/remaining_tokens would make tiktoken download encodings: fail loudly instead."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a scenario triggered tiktoken (count_tokens / remaining_tokens)")

    for name in ("get_encoding", "encoding_for_model"):
        monkeypatch.setattr(tiktoken, name, refuse)
    yield


async def _run(name: str) -> ScenarioContext:
    start = time.perf_counter()
    ctx = await get_scenario(name)()
    assert time.perf_counter() - start < 3.0  # typically well under a second
    for server in ctx.servers:
        assert server.errors == []
        if isinstance(server.responder, Script):
            server.responder.assert_exhausted()
    return ctx


async def test_swarm_support_hands_off_to_user_then_refunds() -> None:
    ctx = await _run("swarm_support")
    first, second = ctx.results
    assert "handoff to user" in (first.stop_reason or "").lower()
    last = first.messages[-1]
    assert isinstance(last, HandoffMessage) and (last.source, last.target) == ("flights_refunder", "user")
    assert [m.target for m in first.messages if isinstance(m, HandoffMessage)] == ["flights_refunder", "user"]
    assert any(isinstance(m, ThoughtEvent) and "confirm" in m.content for m in first.messages)

    opening = second.messages[0]
    assert isinstance(opening, HandoffMessage) and opening.source == "user"
    calls = [c for m in second.messages if isinstance(m, ToolCallRequestEvent) for c in m.content]
    assert [c.name for c in calls] == ["refund_flight", "transfer_to_triage_agent"]
    assert ctx.notes["refunds"] == ["FL-1234"]
    assert any(
        isinstance(m, ToolCallSummaryMessage) and "Refund processed" in m.content for m in second.messages
    )
    assert "TERMINATE" in (second.stop_reason or "")
    assert second.messages[-1].source == "triage_agent"
    requests = ctx.servers[0].requests
    assert len(requests) == 5 and {r["model"] for r in requests} == {"gpt-4o"}


async def test_selector_research_uses_two_models_and_terminates() -> None:
    ctx = await _run("selector_research")
    [result] = ctx.results
    assert "TERMINATE" in (result.stop_reason or "")
    speakers = [m.source for m in result.messages if isinstance(m, TextMessage | ToolCallSummaryMessage)]
    assert speakers == ["user", "planner", "web_searcher", "analyst", "planner"]
    tools = [c.name for m in result.messages if isinstance(m, ToolCallRequestEvent) for c in m.content]
    assert tools == ["search_web", "search_web", "percentage_change", "percentage_change"]
    results = [r.content for m in result.messages if isinstance(m, ToolCallExecutionEvent) for r in m.content]
    assert results[-2:] == ["194.09", "161.17"]
    server = ctx.servers[0]
    assert isinstance(server.responder, Script)
    assert server.responder.served.count("selector") == 5  # one selection needed a retry
    by_model = {r["model"] for r in server.requests if "select the next role" in str(r["messages"][0])}
    assert by_model == {"gpt-4o"}
    assert {r["model"] for r in server.requests} == {"gpt-4o", "gpt-4o-mini"}


async def test_memory_and_agent_tool_streams_and_nests() -> None:
    ctx = await _run("memory_and_agent_tool")
    [result] = ctx.results
    memory = [m for m in result.messages if isinstance(m, MemoryQueryEvent)]
    assert len(memory) == 1 and len(memory[0].content) == 2
    [call] = [c for m in result.messages if isinstance(m, ToolCallRequestEvent) for c in m.content]
    assert call.name == "translator"
    # AgentTool streams the inner run's messages into the outer run.
    assert any(isinstance(m, TextMessage) and m.source == "translator" for m in result.messages)
    final = result.messages[-1]
    assert isinstance(final, TextMessage) and final.source == "barista_bot" and "En español" in final.content
    requests = ctx.servers[0].requests
    assert len(requests) == 3
    assert all(r["stream"] is True and r["stream_options"] == {"include_usage": True} for r in requests)
    assert requests[0]["parallel_tool_calls"] is False
    assert "dark-roast" in requests[0]["messages"][-1]["content"]  # the memory system message


async def test_failing_tool_run_errors_after_tool_error_and_sdk_retries() -> None:
    ctx = await _run("failing_tool_run")
    assert ctx.results == []
    [error] = ctx.errors
    assert "InternalServerError" in str(error) and "The server had an error" in str(error)
    requests = ctx.servers[0].requests
    assert len(requests) == 5  # two good calls, then one call the SDK tried three times
    tool_message = requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and "unknown quarter" in tool_message["content"]


async def test_scenarios_are_deterministic() -> None:
    first = await run_all()
    second = await run_all()
    assert [s.requests for s in first.servers] == [s.requests for s in second.servers]
    assert [r.stop_reason for r in first.results] == [r.stop_reason for r in second.results]


def test_registry() -> None:
    assert [s.name for s in SCENARIOS] == [
        "swarm_support",
        "selector_research",
        "memory_and_agent_tool",
        "failing_tool_run",
    ]
    assert all(isinstance(s, Scenario) and s.description for s in SCENARIOS)
    with pytest.raises(KeyError, match="known"):
        get_scenario("nope")


def test_demo_imports_nothing_from_teamtape_outside_demo() -> None:
    for path in Path(teamtape.demo.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("teamtape") or name.startswith("teamtape.demo"), (path, name)
