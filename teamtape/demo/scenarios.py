"""Realistic handbook teams for the offline demo, each talking HTTP to its own scripted server.

Every scenario builds its team with real ``OpenAIChatCompletionClient`` objects (model names that
genai-prices knows, so costs are real) pointed at a :class:`~teamtape.demo.server.ScriptedOpenAIServer`,
runs it, and closes its clients and server. Nothing here imports the recorder; attach it from outside::

    for scenario in SCENARIOS:
        await scenario()            # or: await scenario.run(ScenarioContext(...))

Scenarios are deterministic (same requests, replies, ids and token counts on every run) and each takes
well under two seconds. No scenario calls ``count_tokens``/``remaining_tokens`` (tiktoken would try to
download its encodings).
"""

from __future__ import annotations

from teamtape.demo.context import Scenario, ScenarioContext, ScenarioFn
from teamtape.demo.failing_run import failing_tool_run
from teamtape.demo.memory_agent_tool import memory_and_agent_tool
from teamtape.demo.selector_research import selector_research
from teamtape.demo.swarm_support import swarm_support

__all__ = [
    "SCENARIOS",
    "Scenario",
    "ScenarioContext",
    "ScenarioFn",
    "failing_tool_run",
    "get_scenario",
    "memory_and_agent_tool",
    "run_all",
    "selector_research",
    "swarm_support",
]

SCENARIOS: list[Scenario] = [
    Scenario(
        "swarm_support",
        "Swarm customer support (gpt-4o): triage -> flights_refunder -> handoff to the user; "
        "resumed with a HandoffMessage, refund_flight runs and triage says TERMINATE.",
        swarm_support,
    ),
    Scenario(
        "selector_research",
        "SelectorGroupChat research team: planner, web_searcher (search tool), analyst "
        "(percentage_change); gpt-4o selects speakers, gpt-4o-mini agents.",
        selector_research,
    ),
    Scenario(
        "memory_and_agent_tool",
        "Streaming barista agent with ListMemory calls a streaming translator through an AgentTool, "
        "then streams its answer.",
        memory_and_agent_tool,
    ),
    Scenario(
        "failing_tool_run",
        "A sales analyst whose tool call fails, then the provider returns HTTP 500 (after SDK retries); "
        "the run errors.",
        failing_tool_run,
    ),
]


def get_scenario(name: str) -> Scenario:
    """Return the scenario called ``name``.

    Raises:
        KeyError: No scenario has that name.
    """
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(f"unknown demo scenario {name!r}; known: {', '.join(s.name for s in SCENARIOS)}")


async def run_all(ctx: ScenarioContext | None = None) -> ScenarioContext:
    """Run every scenario in order, sharing one context; returns it."""
    ctx = ctx if ctx is not None else ScenarioContext()
    for scenario in SCENARIOS:
        await scenario.run(ctx)
    return ctx
