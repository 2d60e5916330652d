"""Scenario ``selector_research``: the handbook's SelectorGroupChat research team.

planner, web_searcher (``search_web`` tool with canned results) and analyst (``percentage_change``
tool, reflects on tool use) on gpt-4o-mini; speaker selection by a gpt-4o model, so the run's cost
is split across two models. The selector once answers with two names and has to retry, as real
selector models sometimes do.
"""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import SelectorGroupChat
from autogen_core.tools import FunctionTool

from teamtape.demo.context import API_KEY, ScenarioContext
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ToolCall

__all__ = ["TASK", "build_script", "percentage_change", "search_web", "selector_research"]

TASK = "Compare how the market caps of Apple and Microsoft grew from the end of 2019 to the end of 2024."

PLANNER_PROMPT = """You are a planning agent.
Break down complex tasks into steps.
Delegate research to the web_searcher and data analysis to the analyst.
Summarize final results. When the task is complete, respond with TERMINATE."""
SEARCHER_PROMPT = "You search the web and return factual information."
ANALYST_PROMPT = "You analyze data, compute metrics, and provide insights."

_SEARCH_RESULTS = {
    "apple": (
        "[1] companiesmarketcap.com - Apple (AAPL) market cap: end of 2019 $1.287T; end of 2024 $3.785T.\n"
        "[2] reuters.com (2024-12-31) - Apple closes the year as the world's most valuable company."
    ),
    "microsoft": (
        "[1] companiesmarketcap.com - Microsoft (MSFT) market cap: end of 2019 $1.200T; end of 2024 $3.134T.\n"
        "[2] bloomberg.com (2024-12-31) - Microsoft ends 2024 up 12% on AI demand."
    ),
}


def search_web(query: str) -> str:
    """Search the web and return the top results for the query."""
    for key, results in _SEARCH_RESULTS.items():
        if key in query.lower():
            return results
    return "No results found."


def calculate_percentage(start: float, end: float) -> float:
    """Calculate percentage change between two values."""
    return round((end - start) / start * 100, 2)


percentage_change = FunctionTool(
    func=calculate_percentage,
    name="percentage_change",
    description="Compute the percentage change from a start value to an end value.",
)


def build_script() -> Script:
    """Return the script: the selector (gpt-4o) and one route per agent (gpt-4o-mini)."""
    script = Script()
    script.route("selector", model="gpt-4o", system_contains="select the next role").then(
        Reply("planner", completion_tokens=1, delay_s=0.015),
        Reply("web_searcher", completion_tokens=3, delay_s=0.015),
        # Two names: AutoGen asks again ("Expected exactly one name...").
        Reply("The analyst should go next, using the web_searcher results.", delay_s=0.015),
        Reply("analyst", completion_tokens=1, delay_s=0.015),
        Reply("planner", completion_tokens=1, cached_tokens=1024, prompt_tokens=1190, delay_s=0.015),
    )
    mini = {"model": "gpt-4o-mini"}
    script.route("planner", system_contains="You are a planning agent", **mini).then(
        Reply(
            "Plan:\n1. web_searcher: find the market caps of Apple and Microsoft at the end of 2019 and 2024.\n"
            "2. analyst: compute the percentage change for each company.\n"
            "3. planner: summarize the comparison.",
            delay_s=0.03,
        ),
        Reply(
            "Summary: from the end of 2019 to the end of 2024 Apple's market cap grew 194.09% "
            "($1.287T -> $3.785T) and Microsoft's grew 161.17% ($1.200T -> $3.134T). Apple grew faster "
            "and ended 2024 about $0.65T larger. TERMINATE",
            delay_s=0.03,
        ),
    )
    script.route("web_searcher", system_contains="You search the web", **mini).then(
        Reply(
            tool_calls=[
                ToolCall("search_web", {"query": "Apple market cap end of 2019 and end of 2024"}),
                ToolCall("search_web", {"query": "Microsoft market cap end of 2019 and end of 2024"}),
            ],
            delay_s=0.03,
        ),
    )
    script.route("analyst", system_contains="You analyze data", **mini).then(
        Reply(
            tool_calls=[
                ToolCall("percentage_change", {"start": 1.287, "end": 3.785}),
                ToolCall("percentage_change", {"start": 1.200, "end": 3.134}),
            ],
            delay_s=0.03,
        ),
        Reply(
            "Apple: +194.09% (1.287T -> 3.785T). Microsoft: +161.17% (1.200T -> 3.134T). "
            "Apple outgrew Microsoft by about 33 percentage points over the five years.",
            delay_s=0.03,
        ),
    )
    return script


async def selector_research(ctx: ScenarioContext) -> None:
    """Run the research team once; the planner ends it with TERMINATE.

    Args:
        ctx: Collects the ``TaskResult``.
    """
    with ctx.server(build_script()) as server:
        agent_client = server.client("gpt-4o-mini", api_key=API_KEY)
        selector_client = server.client("gpt-4o", api_key=API_KEY)
        try:
            planner = AssistantAgent(
                name="planner",
                model_client=agent_client,
                description="A planning agent that breaks tasks into steps and delegates.",
                system_message=PLANNER_PROMPT,
            )
            web_searcher = AssistantAgent(
                name="web_searcher",
                model_client=agent_client,
                tools=[search_web],
                description="A web search agent that finds information online.",
                system_message=SEARCHER_PROMPT,
            )
            analyst = AssistantAgent(
                name="analyst",
                model_client=agent_client,
                tools=[percentage_change],
                reflect_on_tool_use=True,
                description="A data analyst that processes data and creates insights.",
                system_message=ANALYST_PROMPT,
            )
            termination = TextMentionTermination("TERMINATE") | MaxMessageTermination(25)
            team = SelectorGroupChat(
                [planner, web_searcher, analyst],
                model_client=selector_client,
                termination_condition=termination,
            )
            ctx.results.append(await team.run(task=TASK))
        finally:
            await agent_client.close()
            await selector_client.close()
