"""The benchmark team: three agents in a round robin with tool calls, on an in-process model.

The model is a minimal ``ChatCompletionClient`` that answers instantly (no HTTP, no token counting,
no logging), alternating a tool call and a text answer, so the figures measure AutoGen and the
recorder, nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage
from autogen_core.tools import Tool, ToolSchema

MODEL_INFO: ModelInfo = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": "unknown",
    "structured_output": False,
}


class InstantModel(ChatCompletionClient):
    """Answers at once: a tool call on even calls, text on odd ones."""

    def __init__(self) -> None:
        self._calls = 0
        self._usage = RequestUsage(prompt_tokens=0, completion_tokens=0)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Any = "auto",
        json_output: Any = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        i = self._calls
        self._calls += 1
        usage = RequestUsage(prompt_tokens=100 + len(messages), completion_tokens=10)
        if i % 2 == 0 and tools:
            call = FunctionCall(id=f"call_{i}", name="lookup", arguments=f'{{"key": "k{i}"}}')
            return CreateResult(finish_reason="function_calls", content=[call], usage=usage, cached=False)
        return CreateResult(finish_reason="stop", content=f"answer {i}", usage=usage, cached=False)

    async def create_stream(self, messages: Sequence[LLMMessage], **kwargs: Any) -> AsyncGenerator[Any, None]:
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        pass

    def actual_usage(self) -> RequestUsage:
        return self._usage

    def total_usage(self) -> RequestUsage:
        return self._usage

    def count_tokens(self, messages: Sequence[LLMMessage], **kwargs: Any) -> int:
        return 0

    def remaining_tokens(self, messages: Sequence[LLMMessage], **kwargs: Any) -> int:
        return 100_000

    @property
    def capabilities(self) -> Any:
        return MODEL_INFO

    @property
    def model_info(self) -> ModelInfo:
        return MODEL_INFO


def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


def build_team(messages: int = 900) -> RoundRobinGroupChat:
    """A fresh team that produces ``messages`` chat messages (plus tool events) with no latency."""
    client = InstantModel()
    agents = [
        AssistantAgent(
            f"agent_{i}", model_client=client, tools=[lookup], system_message=f"You are agent {i}."
        )
        for i in range(3)
    ]
    return RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(messages))
