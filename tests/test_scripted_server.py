"""The scripted OpenAI-compatible server, exercised by the real AutoGen client over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from autogen_core import EVENT_LOGGER_NAME, FunctionCall
from autogen_core.logging import LLMCallEvent, LLMStreamEndEvent
from autogen_core.models import CreateResult, SystemMessage, UserMessage
from autogen_core.tools import FunctionTool

from teamtape.demo import (
    Reply,
    Script,
    ScriptedOpenAIServer,
    ToolCall,
    last_message_role,
    last_message_text,
    system_prompt,
    tool_names,
)

USER = [UserMessage(content="What is the weather in Paris?", source="user")]


def get_weather(city: str) -> str:
    """Get the current weather for a given city."""
    return f"The weather in {city} is 72°F and sunny."


WEATHER = FunctionTool(get_weather, description="Get the current weather for a given city.")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(record.msg)


@pytest.fixture
def llm_events() -> Iterator[list[Any]]:
    logger = logging.getLogger(EVENT_LOGGER_NAME)
    handler, level = _Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.events
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_plain_create_reaches_client_with_usage_and_cached_tokens(llm_events: list[Any]) -> None:
    reply = Reply(
        content="It is sunny in Paris.", prompt_tokens=1500, completion_tokens=7, cached_tokens=1280
    )
    with ScriptedOpenAIServer([reply]) as server:
        client = server.client("gpt-4o-mini")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. no "Resolved model mismatch" warning
            result = await client.create(USER)
        await client.close()

    assert result.content == "It is sunny in Paris."
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1500, 7)
    [call] = [e for e in llm_events if isinstance(e, LLMCallEvent)]
    raw = call.kwargs["response"]
    assert raw["id"] == "chatcmpl-1"
    assert raw["object"] == "chat.completion"
    assert raw["model"] == "gpt-4o-mini-2024-07-18"  # the dated snapshot, as OpenAI reports it
    assert raw["usage"]["prompt_tokens_details"]["cached_tokens"] == 1280
    assert raw["usage"]["total_tokens"] == 1507
    [request] = server.requests
    assert request["model"] == "gpt-4o-mini"
    assert request["stream"] is False
    assert last_message_text(request) == "What is the weather in Paris?"


async def test_default_usage_is_a_deterministic_estimate() -> None:
    with ScriptedOpenAIServer(["Sunny.", "Sunny."]) as server:
        client = server.client()
        first = await client.create(USER)
        second = await client.create(USER)
        await client.close()
    assert first.usage == second.usage
    assert first.usage.prompt_tokens >= 1 and first.usage.completion_tokens >= 1


async def test_create_with_tool_calls() -> None:
    reply = Reply(
        content="Let me check.",
        tool_calls=[
            ToolCall("get_weather", {"city": "Paris"}),
            ToolCall("get_weather", '{"city": "Rome"}', id="x1"),
        ],
    )
    with ScriptedOpenAIServer([reply]) as server:
        client = server.client("gpt-4o")
        result = await client.create(USER, tools=[WEATHER])
        await client.close()
    assert result.content == [
        FunctionCall(id="call_1", arguments='{"city": "Paris"}', name="get_weather"),
        FunctionCall(id="x1", arguments='{"city": "Rome"}', name="get_weather"),
    ]
    assert result.thought == "Let me check."
    assert result.finish_reason == "function_calls"
    assert tool_names(server.requests[0]) == ["get_weather"]


async def test_stream_content_in_several_chunks_with_usage(llm_events: list[Any]) -> None:
    text = "Paris is sunny today with a light breeze from the west."
    reply = Reply(
        content=text, prompt_tokens=1300, completion_tokens=12, cached_tokens=1024, chunk_delay_s=0.03
    )
    with ScriptedOpenAIServer([reply]) as server:
        client = server.client("gpt-4o-mini")
        first_chunk_at: float | None = None
        chunks: list[str] = []
        final: CreateResult | None = None
        async for item in client.create_stream(USER, include_usage=True):
            if isinstance(item, str):
                first_chunk_at = first_chunk_at or time.perf_counter()
                chunks.append(item)
            else:
                final = item
        end = time.perf_counter()
        await client.close()

    assert len(chunks) >= 5 and "".join(chunks) == text
    assert final is not None and final.content == text and final.finish_reason == "stop"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (1300, 12)
    # chunks are flushed one by one: the first arrives while the server still sleeps between the others
    assert first_chunk_at is not None and end - first_chunk_at >= 0.8 * 0.03 * (len(chunks) - 1)
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert any(isinstance(e, LLMStreamEndEvent) for e in llm_events)


async def test_stream_without_include_usage_reports_no_usage() -> None:
    with ScriptedOpenAIServer([Reply(content="Sunny and warm.")]) as server:
        client = server.client("gpt-4o-mini")
        items = [item async for item in client.create_stream(USER)]
        await client.close()
    final = items[-1]
    assert isinstance(final, CreateResult)
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (0, 0)


async def test_stream_tool_calls_like_openai() -> None:
    reply = Reply(
        content="Checking both cities.",
        tool_calls=[
            ToolCall("get_weather", {"city": "Paris"}),
            ToolCall("get_weather", {"city": "New York City"}),
        ],
    )
    with ScriptedOpenAIServer([reply]) as server:
        client = server.client("gpt-4o-mini")
        items = [item async for item in client.create_stream(USER, tools=[WEATHER])]
        await client.close()
    final = items[-1]
    assert isinstance(final, CreateResult)
    assert final.finish_reason == "function_calls"
    assert final.thought == "Checking both cities."
    assert final.content == [
        FunctionCall(id="call_1", arguments='{"city": "Paris"}', name="get_weather"),
        FunctionCall(id="call_2", arguments='{"city": "New York City"}', name="get_weather"),
    ]


async def test_raw_sse_stream_shape() -> None:
    reply = Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})], prompt_tokens=50, cached_tokens=10)
    with ScriptedOpenAIServer([reply]) as server:
        raw = openai.AsyncOpenAI(api_key="sk-test", base_url=server.base_url)
        stream = await raw.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        await raw.close()
    first, *middle, finish, usage = chunks
    assert {c.id for c in chunks} == {"chatcmpl-1"}
    call = first.choices[0].delta.tool_calls[0]
    assert (call.index, call.id, call.function.name, call.function.arguments) == (
        0,
        "call_1",
        "get_weather",
        "",
    )
    fragments = [c.choices[0].delta.tool_calls[0].function.arguments for c in middle]
    assert len(fragments) >= 2 and "".join(fragments) == '{"city": "Paris"}'
    assert finish.choices[0].finish_reason == "tool_calls"
    assert usage.choices == [] and usage.usage is not None
    assert usage.usage.prompt_tokens_details is not None
    assert usage.usage.prompt_tokens_details.cached_tokens == 10


async def test_error_status_surfaces_as_openai_error_without_retry() -> None:
    reply = Reply(
        error_status=429, error_message="Rate limit reached for gpt-4o", error_code="rate_limit_exceeded"
    )
    with ScriptedOpenAIServer([reply, Reply(error_status=500, error_message="boom")]) as server:
        client = server.client("gpt-4o")
        with pytest.raises(openai.RateLimitError) as info:
            await client.create(USER)
        with pytest.raises(openai.InternalServerError, match="boom"):
            await client.create(USER)
        await client.close()
    assert info.value.status_code == 429
    assert info.value.code == "rate_limit_exceeded"
    assert "Rate limit reached" in str(info.value)
    assert len(server.requests) == 2  # one scripted error is one failed call


async def test_retryable_error_is_retried_by_the_sdk() -> None:
    replies = [Reply(error_status=503, should_retry=True, retry_after_ms=5), Reply(content="Recovered.")]
    with ScriptedOpenAIServer(replies) as server:
        client = server.client("gpt-4o-mini")
        result = await client.create(USER)
        await client.close()
    assert result.content == "Recovered."
    assert len(server.requests) == 2


async def test_exhausted_sequence_is_a_clear_500() -> None:
    with ScriptedOpenAIServer(["only one"]) as server:
        client = server.client("gpt-4o-mini")
        await client.create(USER)
        with pytest.raises(openai.InternalServerError, match="exhausted"):
            await client.create(USER)
        await client.close()
    assert len(server.requests) == 2
    assert len(server.errors) == 1 and "exhausted" in server.errors[0]


async def test_stream_errors_garbage_and_hang() -> None:
    replies = [
        Reply(content="This stream breaks.", garbage_stream=True),
        Reply(hang=True),
        Reply(error_status=500, error_message="stream refused"),
    ]
    with ScriptedOpenAIServer(replies) as server:
        client = server.client("gpt-4o-mini", timeout=0.3, max_retries=0)
        with pytest.raises(ValueError):  # the SDK fails to decode the event (json.JSONDecodeError)
            async for _ in client.create_stream(USER):
                pass
        with pytest.raises(openai.APITimeoutError):
            await client.create(USER)
        with pytest.raises(openai.InternalServerError, match="stream refused"):
            async for _ in client.create_stream(USER):
                pass
        await client.close()
        start = time.perf_counter()
    assert time.perf_counter() - start < 2  # stop() releases the hanging handler


async def test_concurrent_requests_are_served_in_parallel_and_all_captured() -> None:
    prompts = [f"question {i}" for i in range(6)]
    barrier = threading.Barrier(len(prompts), timeout=5)  # breaks unless all are handled at once

    def responder(request: dict[str, Any]) -> Reply:
        barrier.wait()
        return Reply(content=last_message_text(request))

    with ScriptedOpenAIServer(responder) as server:
        client = server.client("gpt-4o-mini", max_retries=0)
        results = await asyncio.gather(
            *(client.create([UserMessage(content=p, source="user")]) for p in prompts)
        )
        await client.close()
    assert [r.content for r in results] == prompts
    assert sorted(last_message_text(r) for r in server.requests) == sorted(prompts)


async def test_delay_before_answer() -> None:
    with ScriptedOpenAIServer([Reply(content="late", delay_s=0.3)]) as server:
        client = server.client("gpt-4o-mini")
        start = time.perf_counter()
        result = await client.create(USER)
        elapsed = time.perf_counter() - start
        await client.close()
    assert result.content == "late" and elapsed >= 0.3


async def test_models_endpoint_and_unknown_model_info() -> None:
    with ScriptedOpenAIServer(["Hello from a local model."]) as server:
        with urllib.request.urlopen(f"{server.base_url}/models") as response:
            models = json.load(response)
        client = server.client("llama-3.1-8b-local")
        result = await client.create(USER)
        await client.close()
    assert {"gpt-4o", "gpt-4o-mini"} <= {m["id"] for m in models["data"]}
    assert result.content == "Hello from a local model."
    assert client.model_info["function_calling"] is True


async def test_script_routes_by_system_prompt() -> None:
    script = Script()
    script.route("tool_result", last_role="tool").then("The weather tool says sunny.")
    script.route("weather", system_contains="weather bot", has_tool="get_weather").then(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    )
    script.route("poet", system_contains="poet", model="gpt-4o").then(
        lambda req: f"A poem about: {last_message_text(req)}"
    )
    with ScriptedOpenAIServer(script) as server:
        client = server.client("gpt-4o")
        poem = await client.create([SystemMessage(content="You are a poet."), *USER])
        weather = await client.create(
            [SystemMessage(content="You are a weather bot."), *USER], tools=[WEATHER]
        )
        with pytest.raises(openai.InternalServerError, match="no route matches"):
            await client.create([SystemMessage(content="You are a chef."), *USER])
        await client.close()
    assert poem.content == "A poem about: What is the weather in Paris?"
    assert isinstance(weather.content, list) and weather.content[0].name == "get_weather"
    assert script.served == ["poet", "weather"]
    assert script.remaining() == {"tool_result": 1, "weather": 0, "poet": 0}
    with pytest.raises(AssertionError, match="tool_result"):
        script.assert_exhausted()
    assert system_prompt(server.requests[0]) == "You are a poet."
    assert last_message_role(server.requests[0]) == "user"


def test_lifecycle() -> None:
    server = ScriptedOpenAIServer([])
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url
    assert server.start() is server
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
    server.stop()
    server.stop()  # idempotent
