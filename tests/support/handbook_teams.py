"""Handbook teams for replay tests: each a builder taking a model-client maker, a script, its tasks.

A :class:`Pattern` is recorded against a :class:`~teamtape.demo.server.ScriptedOpenAIServer` with
:func:`record_pattern`, and rebuilt for a replay with the same builder and clients pointing at the
(stopped) server, so a replay that reached the network would fail. ``refund_flight`` has a side
effect tests can watch: it appends to :data:`REFUNDS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import HandoffTermination, MaxMessageTermination, TextMentionTermination
from autogen_agentchat.messages import HandoffMessage
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_agentchat.tools import AgentTool, TeamTool
from autogen_core.memory import ListMemory, MemoryContent, MemoryMimeType
from pydantic import BaseModel

import teamtape
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall

ClientMaker = Callable[..., Any]
"""``maker(model="gpt-4o-mini", **kwargs)`` returns a ChatCompletionClient."""

REFUNDS: list[str] = []
"""Every flight ``refund_flight`` refunded, in this process."""

API_KEY = "sk-test-replay-not-a-real-key"


def refund_flight(flight_id: str) -> str:
    """Process a flight refund for the given flight ID."""
    REFUNDS.append(flight_id)
    log = os.environ.get("TEAMTAPE_TEST_REFUND_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(flight_id + "\n")
    return f"Refund processed for flight {flight_id}."


def search_web(query: str) -> str:
    """Search the web and return the top result for the query."""
    return f"Top result for {query!r}: the Eiffel Tower is 330 m tall."


class AgentResponse(BaseModel):
    thoughts: str
    answer: str


@dataclass
class Pattern:
    """A handbook team: how to build it, what the scripted model answers, what it is asked."""

    name: str
    script: Callable[[], Script]
    build: Callable[[ClientMaker], Any]
    tasks: list[Any]


def dead_client_maker(base_url: str, made: list[Any] | None = None) -> ClientMaker:
    """Real OpenAI clients pointing at ``base_url`` of a stopped server, without retries.

    Clients made are appended to ``made`` (to close them after the test).
    """
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    def maker(model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("max_retries", 0)
        client = OpenAIChatCompletionClient(model=model, base_url=base_url, **kwargs)
        if made is not None:
            made.append(client)
        return client

    return maker


def server_client_maker(server: ScriptedOpenAIServer, made: list[Any]) -> ClientMaker:
    def maker(model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", API_KEY)
        client = server.client(model, **kwargs)
        made.append(client)
        return client

    return maker


async def close_all(clients: list[Any]) -> None:
    for client in clients:
        await client.close()
    clients.clear()


async def run_pattern(pattern: Pattern, maker: ClientMaker) -> list[Any]:
    """Build the team and run every task of its session on it; returns the TaskResults."""
    team = pattern.build(maker)
    results = []
    for task in pattern.tasks:
        results.append(await team.run(task=task))
    return results


async def record_pattern(pattern: Pattern, store: str | Path) -> tuple[list[str], str, list[Any]]:
    """Record ``pattern`` against a scripted server (stopped on return).

    Returns:
        The recorded top-level run ids (with nested ones), the server's now dead base URL, the results.
    """
    made: list[Any] = []
    with ScriptedOpenAIServer(pattern.script()) as server:
        async with teamtape.record(store=store) as recording:
            results = await run_pattern(pattern, server_client_maker(server, made))
        await close_all(made)
        base_url = server.base_url
        assert not server.errors, server.errors
    return recording.run_ids, base_url, results


# -- Swarm with handoffs, a tool with a side effect, and a human-in-the-loop resumption -----------------
TRIAGE = "You are a customer support triage agent. Route refund requests to flights_refunder."
REFUNDER = "You handle flight refunds with the refund_flight tool. Ask the user to confirm first."


def swarm_script() -> Script:
    script = Script()
    script.route("triage", system_contains="triage agent").then(
        Reply(tool_calls=[ToolCall("transfer_to_flights_refunder", {})]),
        Reply("Your refund is done. TERMINATE"),
    )
    script.route("refunder", system_contains="You handle flight refunds").then(
        Reply("Please confirm the refund of FL-1234.", tool_calls=[ToolCall("transfer_to_user", {})]),
        Reply(tool_calls=[ToolCall("refund_flight", {"flight_id": "FL-1234"})]),
        Reply("Refunded. Back to triage.", tool_calls=[ToolCall("transfer_to_triage_agent", {})]),
    )
    return script


def build_swarm(maker: ClientMaker) -> Swarm:
    client = maker("gpt-4o")
    triage = AssistantAgent(
        "triage_agent", model_client=client, handoffs=["flights_refunder"], system_message=TRIAGE
    )
    refunder = AssistantAgent(
        "flights_refunder",
        model_client=client,
        tools=[refund_flight],
        handoffs=["triage_agent", "user"],
        system_message=REFUNDER,
    )
    return Swarm(
        [triage, refunder],
        termination_condition=HandoffTermination(target="user") | TextMentionTermination("TERMINATE"),
    )


SWARM = Pattern(
    "swarm_hitl",
    swarm_script,
    build_swarm,
    [
        "I want a refund for flight FL-1234.",
        HandoffMessage(source="user", target="flights_refunder", content="Yes, refund it."),
    ],
)


# -- SelectorGroupChat with model-based speaker selection -------------------------------------------------
def selector_script() -> Script:
    script = Script()
    script.route("selector", model="gpt-4o").then("planner", "searcher", "planner")
    script.route("planner", system_contains="You plan").then(
        "searcher: find the height of the Eiffel Tower.", "The Eiffel Tower is 330 m tall. TERMINATE"
    )
    script.route("searcher", system_contains="You search").then(
        Reply(tool_calls=[ToolCall("search_web", {"query": "Eiffel Tower height"})])
    )
    return script


def build_selector(maker: ClientMaker) -> SelectorGroupChat:
    mini = maker("gpt-4o-mini")
    planner = AssistantAgent(
        "planner", model_client=mini, description="Plans.", system_message="You plan and summarize."
    )
    searcher = AssistantAgent(
        "searcher",
        model_client=mini,
        tools=[search_web],
        description="Searches the web.",
        system_message="You search the web.",
    )
    return SelectorGroupChat(
        [planner, searcher],
        model_client=maker("gpt-4o"),
        termination_condition=TextMentionTermination("TERMINATE") | MaxMessageTermination(10),
    )


SELECTOR = Pattern("selector", selector_script, build_selector, ["How tall is the Eiffel Tower?"])


# -- RoundRobinGroupChat -----------------------------------------------------------------------------------
def round_robin_script() -> Script:
    script = Script()
    script.route("writer", system_contains="You write").then(
        "Roses are red.", "Roses are red, violets are blue."
    )
    script.route("critic", system_contains="You critique").then("Too short: add a second line.", "APPROVE")
    return script


def build_round_robin(maker: ClientMaker) -> RoundRobinGroupChat:
    client = maker("gpt-4o-mini")
    writer = AssistantAgent("writer", model_client=client, system_message="You write short poems.")
    critic = AssistantAgent(
        "critic", model_client=client, system_message="You critique poems. Say APPROVE when done."
    )
    return RoundRobinGroupChat([writer, critic], termination_condition=TextMentionTermination("APPROVE"))


ROUND_ROBIN = Pattern("round_robin", round_robin_script, build_round_robin, ["Write a two-line poem."])


# -- Memory (ListMemory) ------------------------------------------------------------------------------------
def memory_script() -> Script:
    script = Script()
    script.route("barista", system_contains="barista").then("A dark-roast Americano with oat milk.")
    return script


def build_memory(maker: ClientMaker) -> AssistantAgent:
    memory = ListMemory(
        name="user_preferences",
        memory_contents=[
            MemoryContent(content="User prefers dark roast and avoids dairy.", mime_type=MemoryMimeType.TEXT),
        ],
    )
    return AssistantAgent(
        "barista",
        model_client=maker("gpt-4o-mini"),
        memory=[memory],
        system_message="You are a barista. Use what you remember about the user.",
    )


MEMORY = Pattern("memory", memory_script, build_memory, ["What should I drink this morning?"])


# -- AgentTool and TeamTool nesting -----------------------------------------------------------------------------
def nesting_script() -> Script:
    script = Script()
    script.route("boss", system_contains="You delegate").then(
        Reply(tool_calls=[ToolCall("translator", {"task": "Translate 'good morning' into Spanish."})]),
        Reply(tool_calls=[ToolCall("review_team", {"task": "Review: Buenos dias."})]),
        "Translation reviewed: Buenos días. Done.",
    )
    script.route("translator", system_contains="You translate").then("Buenos días.")
    script.route("editor", system_contains="You edit").then("Buenos días (with the accent).")
    script.route("reviewer", system_contains="You review").then("APPROVE")
    return script


def build_nesting(maker: ClientMaker) -> AssistantAgent:
    translator = AssistantAgent(
        "translator",
        model_client=maker("gpt-4o-mini"),
        description="Translates text.",
        system_message="You translate text.",
    )
    editor = AssistantAgent(
        "editor", model_client=maker("gpt-4o-mini"), system_message="You edit translations."
    )
    reviewer = AssistantAgent(
        "reviewer", model_client=maker("gpt-4o-mini"), system_message="You review edits. Say APPROVE."
    )
    review = RoundRobinGroupChat([editor, reviewer], termination_condition=TextMentionTermination("APPROVE"))
    return AssistantAgent(
        "boss",
        model_client=maker("gpt-4o-mini", parallel_tool_calls=False),
        tools=[
            AgentTool(agent=translator, return_value_as_last_message=True),
            TeamTool(
                team=review,
                name="review_team",
                description="Reviews a translation.",
                return_value_as_last_message=True,
            ),
        ],
        max_tool_iterations=3,
        system_message="You delegate translation and review.",
    )


NESTING = Pattern(
    "agent_and_team_tool", nesting_script, build_nesting, ["Say good morning in Spanish, reviewed."]
)


# -- Streaming ----------------------------------------------------------------------------------------------------
def streaming_script() -> Script:
    script = Script()
    script.route("streamer", system_contains="You stream").then(
        Reply(content="Streaming tokens arrive one small piece at a time, in order.", chunk_delay_s=0.001)
    )
    return script


def build_streaming(maker: ClientMaker) -> RoundRobinGroupChat:
    client = maker("gpt-4o-mini", stream_options={"include_usage": True})
    agent = AssistantAgent(
        "streamer", model_client=client, model_client_stream=True, system_message="You stream answers."
    )
    return RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))


STREAMING = Pattern("streaming", streaming_script, build_streaming, ["Explain streaming in one sentence."])


# -- Structured output ----------------------------------------------------------------------------------------------
def structured_script() -> Script:
    script = Script()
    script.route("solver", system_contains="Think step by step").then(
        '{"thoughts": "37 * 42 = 1554", "answer": "1554"}'
    )
    return script


def build_structured(maker: ClientMaker) -> AssistantAgent:
    return AssistantAgent(
        "solver",
        model_client=maker("gpt-4o-mini"),
        output_content_type=AgentResponse,
        system_message="Think step by step then provide a final answer.",
    )


STRUCTURED = Pattern("structured_output", structured_script, build_structured, ["What is 37 * 42?"])

# -- A vector-store-like memory that queries on every turn (its query is the side effect) ------------------------
MEMORY_QUERIES: list[str] = []
"""Every query that reached :class:`SearchMemory`'s store, in this process."""


class SearchMemory(ListMemory):
    """Like ChromaDB's memory: ``update_context`` queries with the last message and adds what it finds."""

    async def query(self, query: Any = "", cancellation_token: Any = None, **kwargs: Any) -> Any:
        from autogen_core.memory import MemoryQueryResult

        MEMORY_QUERIES.append(str(query))
        return MemoryQueryResult(
            results=[c for c in self.content if str(query).split()[0].lower() in str(c.content).lower()]
        )

    async def update_context(self, model_context: Any) -> Any:
        from autogen_core.memory import UpdateContextResult
        from autogen_core.models import SystemMessage

        messages = await model_context.get_messages()
        found = await self.query(messages[-1].content if messages else "")
        if found.results:
            lines = "\n".join(f"{i}. {c.content}" for i, c in enumerate(found.results, 1))
            await model_context.add_message(SystemMessage(content=f"Relevant memory content:\n{lines}"))
        return UpdateContextResult(memories=found)


def search_memory_script() -> Script:
    script = Script()
    script.route("librarian", system_contains="librarian").then("Dune, since you love desert planets.")
    return script


def build_search_memory(maker: ClientMaker) -> AssistantAgent:
    memory = SearchMemory(
        name="books",
        memory_contents=[
            MemoryContent(content="Recommend novels about desert planets.", mime_type=MemoryMimeType.TEXT),
        ],
    )
    return AssistantAgent(
        "librarian", model_client=maker("gpt-4o-mini"), memory=[memory], system_message="You are a librarian."
    )


SEARCH_MEMORY = Pattern(
    "search_memory", search_memory_script, build_search_memory, ["Recommend novels please."]
)


# -- CodeExecutorAgent running the coder's code (the code's side effect: a line appended to a file) --------------
def code_script() -> Script:
    script = Script()
    script.route("coder", system_contains="Write Python code").then(
        "```python\nimport os\nopen(os.environ['TEAMTAPE_TEST_CODE_LOG'], 'a').write('ran\\n')\nprint(6 * 7)\n```",
        "The answer is 42. TERMINATE",
    )
    return script


def build_code(maker: ClientMaker) -> RoundRobinGroupChat:
    from autogen_agentchat.agents import CodeExecutorAgent
    from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor

    coder = AssistantAgent(
        "coder",
        model_client=maker("gpt-4o-mini"),
        system_message="Write Python code in one block. Reply TERMINATE when done.",
    )
    work_dir = Path(os.environ.get("TEAMTAPE_TEST_CODE_DIR", "coding"))
    executor = CodeExecutorAgent("executor", code_executor=LocalCommandLineCodeExecutor(work_dir=work_dir))
    return RoundRobinGroupChat([coder, executor], termination_condition=TextMentionTermination("TERMINATE"))


CODE = Pattern("code_execution", code_script, build_code, ["Compute 6 * 7 in Python."])


# -- One assistant with a tool (for mismatch and record-mode tests) --------------------------------------------
SINGLE_PROMPT = "You answer questions, using search_web for facts."


def single_script() -> Script:
    script = Script()
    script.route("assistant", system_contains="You answer questions").then(
        Reply(tool_calls=[ToolCall("search_web", {"query": "Eiffel Tower height"})]),
        "The Eiffel Tower is 330 m tall.",
        "Paris is in France.",
    )
    return script


def build_single(
    maker: ClientMaker,
    *,
    system_message: str = SINGLE_PROMPT,
    tools: list[Any] | None = None,
    model: str = "gpt-4o-mini",
) -> AssistantAgent:
    return AssistantAgent(
        "assistant",
        model_client=maker(model),
        tools=tools if tools is not None else [search_web],
        reflect_on_tool_use=True,
        system_message=system_message,
    )


SINGLE = Pattern("single", single_script, build_single, ["How tall is the Eiffel Tower?"])

PATTERNS = [SWARM, SELECTOR, ROUND_ROBIN, MEMORY, NESTING, STREAMING, STRUCTURED, CODE]


def factory_from_env() -> Any:
    """``--factory tests.support.handbook_teams:factory_from_env``: the pattern named by
    ``$TEAMTAPE_TEST_PATTERN`` with clients pointing at ``$TEAMTAPE_TEST_BASE_URL``."""
    name = os.environ["TEAMTAPE_TEST_PATTERN"]
    pattern = next(p for p in PATTERNS if p.name == name)
    return pattern.build(dead_client_maker(os.environ["TEAMTAPE_TEST_BASE_URL"]))
