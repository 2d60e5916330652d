"""A small real AutoGen team for the end-to-end OTLP tests: tools, memory and a nested AgentTool run."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_agentchat.tools import AgentTool
from autogen_core.memory import ListMemory, MemoryContent, MemoryMimeType

from teamtape.demo import Reply, Script, ScriptedOpenAIServer, ToolCall

TASK = "Where is order A-7? My key is sk-proj-E2EplantedSECRET0123456789"


async def lookup_order(order_id: str) -> str:
    """Look up an order's status."""
    return f"order {order_id}: shipped on Monday"


def script() -> Script:
    s = Script()
    s.route("clerk", system_contains="You look up orders").then(
        Reply(
            tool_calls=[ToolCall("lookup_order", {"order_id": "A-7"})], prompt_tokens=120, completion_tokens=9
        )
    )
    s.route("manager", system_contains="You manage").then(
        Reply(
            tool_calls=[ToolCall("researcher", {"task": "Is A-7 late?"})],
            prompt_tokens=200,
            completion_tokens=12,
        )
    )
    s.route("researcher", system_contains="You research").then(
        Reply("Not late.", prompt_tokens=40, completion_tokens=3)
    )
    return s


async def make_team(server: ScriptedOpenAIServer) -> RoundRobinGroupChat:
    client = server.client("gpt-4o-mini", parallel_tool_calls=False)
    memory = ListMemory(name="order_notes")
    await memory.add(MemoryContent(content="A-7 ships from Lyon.", mime_type=MemoryMimeType.TEXT))
    clerk = AssistantAgent(
        "clerk",
        model_client=client,
        tools=[lookup_order],
        memory=[memory],
        system_message="You look up orders.",
    )
    researcher = AssistantAgent("researcher", model_client=client, system_message="You research delays.")
    manager = AssistantAgent(
        "manager", model_client=client, tools=[AgentTool(researcher)], system_message="You manage the clerk."
    )
    return RoundRobinGroupChat([clerk, manager], termination_condition=MaxMessageTermination(3))
