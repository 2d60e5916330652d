"""The benchmark team: three agents in a round robin with tool calls, on an in-process model.

The model is a minimal ``ChatCompletionClient`` that answers instantly (no HTTP, no token counting,
no logging), alternating a tool call and a text answer, so the figures measure AutoGen and the
recorder, nothing else.

``build_team(client="openai")`` puts the same script behind AutoGen's real
``OpenAIChatCompletionClient`` instead, answered in this process by an ``httpx.MockTransport``
(no socket, no wait): the path a team on an OpenAI-compatible model takes, the network aside.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

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


def openai_client() -> ChatCompletionClient:
    """AutoGen's ``OpenAIChatCompletionClient`` on an in-process endpoint with InstantModel's script."""
    import httpx
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    from teamtape.demo.server import Reply, ToolCall
    from teamtape.demo.wire import chat_completion, response_model

    numbers = itertools.count()

    async def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        i = next(numbers)
        if i % 2 == 0 and body.get("tools"):
            reply = Reply(tool_calls=[ToolCall("lookup", {"key": f"k{i}"})])
        else:
            reply = Reply(content=f"answer {i}")
        completion = chat_completion(body, reply, i, response_model(body["model"]), [f"call_{i}"], 0)
        return httpx.Response(200, json=completion)

    transport = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return OpenAIChatCompletionClient(model="gpt-4o-mini", api_key="sk-bench", http_client=transport)


def build_team(
    messages: int = 900, client: Literal["instant", "openai"] = "instant", context: int | None = None
) -> RoundRobinGroupChat:
    """A fresh team that produces ``messages`` chat messages (plus tool events) with no latency.

    ``client`` picks the model (see the module docstring); with ``context`` each agent keeps only its
    last ``context`` messages (a ``BufferedChatCompletionContext``).
    """
    from autogen_core.model_context import BufferedChatCompletionContext

    model = InstantModel() if client == "instant" else openai_client()
    agents = [
        AssistantAgent(
            f"agent_{i}",
            model_client=model,
            tools=[lookup],
            system_message=f"You are agent {i}.",
            model_context=BufferedChatCompletionContext(buffer_size=context) if context else None,
        )
        for i in range(3)
    ]
    return RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(messages))
