"""Single AssistantAgents: tools, streaming, structured output, model contexts, direct calls, images."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import MultiModalMessage, StructuredMessage, TextMessage
from autogen_core import CancellationToken, Image
from autogen_core.model_context import BufferedChatCompletionContext
from pydantic import BaseModel

import teamtape
from teamtape.demo.server import Reply, ToolCall


async def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def tool_replies() -> list[Reply]:
    return [
        Reply(
            tool_calls=[ToolCall("add", {"a": 1, "b": 2}), ToolCall("add", {"a": 3, "b": 4})],
            prompt_tokens=120,
            completion_tokens=20,
        ),
        Reply(content="1+2 is 3 and 3+4 is 7.", prompt_tokens=160, completion_tokens=12),
    ]


async def test_parallel_tool_calls_are_recorded_with_arguments_and_results(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve(tool_replies())
    agent = AssistantAgent(
        "calc", model_client=client(server), tools=[add], reflect_on_tool_use=True, model_client_stream=stream
    )
    async with teamtape.record(store=store_path):
        result = await agent.run(task="What are 1+2 and 3+4?")

    db = recorded()
    run = db.top_run()
    assert (run["team_type"], run["status"], run["task"]) == ("AssistantAgent", "ok", "What are 1+2 and 3+4?")
    assert (run["llm_calls"], run["tool_calls"]) == (2, 2)
    assert (run["input_tokens"], run["output_tokens"]) == (280, 32)

    tools = db.rows("SELECT * FROM tool_calls ORDER BY seq")
    assert [(t["tool"], t["tool_kind"], t["arguments"], t["result"], t["is_error"]) for t in tools] == [
        ("add", "function", {"a": 1, "b": 2}, "3", False),
        ("add", "function", {"a": 3, "b": 4}, "7", False),
    ]
    assert {t["agent"] for t in tools} == {"calc"}
    assert [t["call_id"] for t in tools] == [c.id for c in result.messages[1].content]

    calls = db.rows("SELECT * FROM llm_calls ORDER BY seq")
    assert [(c["agent"], c["model"], c["streamed"], c["finish_reason"]) for c in calls] == [
        ("calc", "gpt-4o-mini", stream, "function_calls"),
        ("calc", "gpt-4o-mini", stream, "stop"),
    ]
    assert [(c["input_tokens"], c["output_tokens"]) for c in calls] == [(120, 20), (160, 12)]
    assert all(c["cost_usd"] > 0 for c in calls)
    offered = db.blob(calls[0]["request"]["tools"])
    assert [t["name"] for t in offered] == ["add"]
    assert set(offered[0]["parameters"]["properties"]) == {"a", "b"}
    # The reflection call saw the tool results, exactly as sent to the model.
    second = db.sent()[1]
    assert [m["type"] for m in second] == [
        "SystemMessage",
        "UserMessage",
        "AssistantMessage",
        "FunctionExecutionResultMessage",
    ]
    assert [r["content"] for r in second[3]["content"]] == ["3", "7"]
    assert len(server.requests[1]["messages"]) == len(second) + 1  # OpenAI splits the two tool results

    assert db.messages(run["run_id"]) == [
        ("user", "TextMessage"),
        ("calc", "ToolCallRequestEvent"),
        ("calc", "ToolCallExecutionEvent"),
        ("calc", "TextMessage"),
    ]


async def test_without_reflection_the_tool_summary_is_the_answer(serve, client, store_path, recorded) -> None:
    server = serve([tool_replies()[0]])
    agent = AssistantAgent("calc", model_client=client(server), tools=[add])
    async with teamtape.record(store=store_path):
        await agent.run(task="What are 1+2 and 3+4?")

    db = recorded()
    run = db.top_run()
    assert run["llm_calls"] == 1
    last = db.rows("SELECT type, content FROM messages ORDER BY seq DESC LIMIT 1")[0]
    assert last == {"type": "ToolCallSummaryMessage", "content": "3\n7"}


async def test_streamed_tokens_are_recorded_as_chunks_of_the_final_message(
    serve, client, store_path, recorded
) -> None:
    server = serve([Reply(content="Paris is the capital of France.", prompt_tokens=30, completion_tokens=8)])
    agent = AssistantAgent("geo", model_client=client(server), model_client_stream=True)
    async with teamtape.record(store=store_path):
        items = [item async for item in agent.run_stream(task="Capital of France?")]

    db = recorded()
    run = db.top_run()
    chunk_items = [i for i in items if type(i).__name__ == "ModelClientStreamingChunkEvent"]
    (chunks,) = db.events(run["run_id"], "message_chunks")
    assert chunks["agent"] == "geo"
    assert chunks["payload"]["n"] == len(chunk_items) > 1
    assert chunks["payload"]["text"] == "Paris is the capital of France."
    assert chunks["payload"]["full_message_id"] == items[-2].id
    call = db.one("SELECT * FROM llm_calls")
    assert call["streamed"] is True and call["ttft_ms"] is not None
    assert (call["input_tokens"], call["output_tokens"]) == (30, 8)
    assert call["response"]["content"] == "Paris is the capital of France."
    # Chunks are not messages: only the task and the answer are.
    assert db.messages(run["run_id"]) == [("user", "TextMessage"), ("geo", "TextMessage")]


class Verdict(BaseModel):
    thoughts: str
    answer: int


async def test_structured_output_is_recorded_as_a_structured_message_with_its_schema(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve(['{"thoughts": "37 * 42 = 1554", "answer": 1554}'])
    agent = AssistantAgent(
        "math", model_client=client(server), output_content_type=Verdict, model_client_stream=stream
    )
    async with teamtape.record(store=store_path):
        response = await agent.on_messages(
            [TextMessage(content="What is 37 * 42?", source="user")], CancellationToken()
        )

    assert isinstance(response.chat_message, StructuredMessage)
    db = recorded()
    run = db.top_run()
    answer = db.one("SELECT * FROM messages WHERE run_id = ? AND source = 'math'", run["run_id"])
    assert answer["type"] == "StructuredMessage[Verdict]"
    (event,) = [e for e in db.events(run["run_id"], "message") if e["agent"] == "math"]
    assert event["payload"]["content"] == {"thoughts": "37 * 42 = 1554", "answer": 1554}
    call = db.one("SELECT request, streamed FROM llm_calls")
    request = call["request"]
    assert call["streamed"] is stream
    assert request["json_output"]["name"] == "Verdict"
    assert set(request["json_output"]["schema"]["properties"]) == {"thoughts", "answer"}
    assert server.requests[0]["response_format"]["type"] == "json_schema"


async def test_json_mode_set_on_the_client_is_in_the_recorded_request(
    serve, client, store_path, recorded
) -> None:
    server = serve(['{"ok": true}'])
    agent = AssistantAgent("json", model_client=client(server, response_format={"type": "json_object"}))
    async with teamtape.record(store=store_path):
        await agent.run(task="Answer in JSON.")

    request = recorded().one("SELECT request FROM llm_calls")["request"]
    assert server.requests[0]["response_format"] == {"type": "json_object"}
    assert request["client_args"]["response_format"] == {"type": "json_object"}


async def test_buffered_model_context_is_what_the_recorded_request_holds(
    serve, client, store_path, recorded
) -> None:
    server = serve(["one", "two", "three"])
    agent = AssistantAgent(
        "buffered",
        model_client=client(server),
        system_message="Be brief.",
        model_context=BufferedChatCompletionContext(buffer_size=2),
    )
    async with teamtape.record(store=store_path):
        for task in ("first", "second", "third"):
            await agent.run(task=task)

    db = recorded()
    runs = db.runs()
    assert len(runs) == 3 and len({r["session_id"] for r in runs}) == 1
    sent = db.sent()
    assert [[m.get("content") for m in msgs] for msgs in sent] == [
        ["Be brief.", "first"],
        ["Be brief.", "one", "second"],
        ["Be brief.", "two", "third"],
    ]
    assert [len(r["messages"]) for r in server.requests] == [len(s) for s in sent]


async def test_every_way_of_calling_a_single_agent_is_a_run(serve, client, store_path, recorded) -> None:
    server = serve(["a", "b", "c", "d"])
    agent = AssistantAgent("solo", model_client=client(server))
    async with teamtape.record(store=store_path) as rec:
        await agent.run(task="via run")
        [_ async for _ in agent.run_stream(task="via run_stream")]
        await agent.on_messages([TextMessage(content="via on_messages", source="user")], CancellationToken())
        [
            _
            async for _ in agent.on_messages_stream(
                [TextMessage(content="via on_messages_stream", source="user")], CancellationToken()
            )
        ]

    db = recorded()
    runs = db.runs()
    assert [r["run_id"] for r in runs] == rec.run_ids
    assert [(r["task"], r["status"], r["team_type"], r["llm_calls"]) for r in runs] == [
        ("via run", "ok", "AssistantAgent", 1),
        ("via run_stream", "ok", "AssistantAgent", 1),
        ("via on_messages", "ok", "AssistantAgent", 1),
        ("via on_messages_stream", "ok", "AssistantAgent", 1),
    ]
    assert len({r["session_id"] for r in runs}) == 1
    for run, answer in zip(runs, "abcd"):
        rows = db.rows(
            "SELECT source, type, content FROM messages WHERE run_id = ? ORDER BY seq", run["run_id"]
        )
        assert rows == [
            {"source": "user", "type": "TextMessage", "content": run["task"]},
            {"source": "solo", "type": "TextMessage", "content": answer},
        ]


PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


async def test_an_image_is_stored_once_as_a_blob_not_inline(serve, client, store_path, recorded) -> None:
    server = serve(["A red pixel.", "Still a red pixel."])
    vision = client(server, model="gpt-4o")
    agent = AssistantAgent("eye", model_client=vision)
    image = Image.from_base64(PNG_1X1)
    async with teamtape.record(store=store_path):
        for question in ("What is this?", "And now?"):
            await agent.run(task=MultiModalMessage(content=[question, image], source="user"))

    db = recorded()
    image_b64 = image.to_base64()
    images = db.rows("SELECT hash, data FROM blobs WHERE media_type LIKE 'image/%'")
    assert len(images) == 1 and images[0]["data"] == image_b64
    rows = db.rows("SELECT run_id, type, content FROM messages WHERE type = 'MultiModalMessage'")
    assert len(rows) == 2
    for row in rows:
        assert image_b64 not in row["content"]
        (event,) = [
            e for e in db.events(row["run_id"], "message") if e["payload"]["type"] == "MultiModalMessage"
        ]
        assert event["payload"]["content"][1] == {"type": "image", "$blob": images[0]["hash"]}
    for call in db.rows("SELECT request FROM llm_calls"):
        assert image_b64 not in str(call["request"])
    payloads = db.rows("SELECT payload FROM events WHERE kind IN ('run_started', 'message', 'llm_call')")
    assert len(payloads) == 8 and not any(image_b64 in str(p) for p in payloads)
    assert "image_url" in str(server.requests[0]["messages"][-1])


async def test_agent_run_is_recorded_in_the_order_things_happened(
    serve, client, store_path, recorded, stream
) -> None:
    server = serve(tool_replies())
    agent = AssistantAgent(
        "calc", model_client=client(server), tools=[add], reflect_on_tool_use=True, model_client_stream=stream
    )
    async with teamtape.record(store=store_path):
        await agent.run(task="What are 1+2 and 3+4?")

    db = recorded()
    timeline = [
        (e["kind"], e["payload"].get("type"))
        for e in db.events(db.top_run()["run_id"])
        if e["kind"] != "blob"
    ]
    streamed_answer = [("message_chunks", None)] if stream else []
    assert timeline == [
        ("run_started", None),
        ("message", "TextMessage"),
        ("llm_call_started", None),
        ("llm_call", None),
        ("message", "ToolCallRequestEvent"),
        ("tool_call", None),
        ("tool_call", None),
        ("message", "ToolCallExecutionEvent"),
        ("llm_call_started", None),
        ("llm_call", None),
        *streamed_answer,
        ("message", "TextMessage"),
        ("agent_turn", None),
        ("run_ended", None),
    ]


async def test_a_failing_tool_is_recorded_as_an_error_result(serve, client, store_path, recorded) -> None:
    async def fetch_report(quarter: str) -> str:
        """Fetch a sales report."""
        raise ValueError(f"unknown quarter {quarter!r}")

    server = serve(
        [Reply(tool_calls=[ToolCall("fetch_report", {"quarter": "2025-Q5"})]), "That quarter is unknown."]
    )
    agent = AssistantAgent(
        "analyst", model_client=client(server), tools=[fetch_report], reflect_on_tool_use=True
    )
    async with teamtape.record(store=store_path):
        result = await agent.run(task="Sales of 2025-Q5?")

    db = recorded()
    assert db.top_run()["status"] == "ok"  # the agent handled the error; so does the recording
    assert db.top_run()["failed_calls"] == 1  # ...which still says a call failed on the way
    tool = db.one("SELECT tool, arguments, result, is_error FROM tool_calls")
    assert (tool["tool"], tool["arguments"], tool["is_error"]) == (
        "fetch_report",
        {"quarter": "2025-Q5"},
        True,
    )
    assert "unknown quarter '2025-Q5'" in tool["result"]
    assert result.messages[-1].content == "That quarter is unknown."
    # The model saw text; the recording keeps what was raised, and where (the workbench kept neither).
    (event,) = db.events(db.top_run()["run_id"], "tool_call")
    raised = event["payload"]["error"]
    assert raised["type"] == "ValueError" and raised["message"] == "unknown quarter '2025-Q5'"
    assert 'in fetch_report\n    raise ValueError(f"unknown quarter {quarter!r}")' in raised["traceback"]
