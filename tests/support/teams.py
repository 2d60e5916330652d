"""Small real AutoGen teams on a scripted OpenAI-compatible server, shared by the tests."""

from __future__ import annotations

from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat

from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall

TOOL_LOG: list[dict[str, Any]] = []


async def lookup_order(order_id: str) -> str:
    """Look up an order's status."""
    TOOL_LOG.append({"order_id": order_id})
    return f"order {order_id}: shipped"


def order_replies(n_rounds: int = 1) -> list[Reply]:
    """Replies for :func:`order_team`: a tool call, a summary, then a reviewer's answer, per round."""
    replies: list[Reply] = []
    for i in range(n_rounds):
        replies += [
            Reply(
                tool_calls=[ToolCall("lookup_order", {"order_id": f"A-{i}"})],
                prompt_tokens=120,
                completion_tokens=9,
            ),
            Reply(
                content=f"Order A-{i} has shipped.", prompt_tokens=150, completion_tokens=7, cached_tokens=64
            ),
        ]
    return replies


def order_team(
    server: ScriptedOpenAIServer, *, max_messages: int = 5, **client_kwargs: Any
) -> RoundRobinGroupChat:
    """A two-agent round robin: `clerk` calls a tool, `reviewer` answers."""
    client = server.client("gpt-4o-mini", **client_kwargs)
    clerk = AssistantAgent(
        "clerk", model_client=client, tools=[lookup_order], system_message="You look up orders."
    )
    reviewer = AssistantAgent(
        "reviewer", model_client=client, system_message="You review the clerk's answers."
    )
    return RoundRobinGroupChat([clerk, reviewer], termination_condition=MaxMessageTermination(max_messages))
