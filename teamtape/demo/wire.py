"""OpenAI chat-completions wire format: response bodies, stream chunks and error bodies.

Pure functions used by :mod:`teamtape.demo.server`; they build exactly what the OpenAI API sends so
that the ``openai`` SDK parses it like the real thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teamtape.demo.server import Reply, ToolCall

__all__ = [
    "arguments_json",
    "chat_completion",
    "error_body",
    "estimate_tokens",
    "response_model",
    "split_arguments",
    "split_words",
    "stream_events",
    "usage_body",
]

SYSTEM_FINGERPRINT = "fp_teamtape_demo"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}


def split_words(text: str) -> list[str]:
    """Split text into word-sized deltas (leading whitespace kept, like tokens) that join back exactly."""
    return re.findall(r"\s*\S+|\s+$", text) or [text]


def split_arguments(arguments: str) -> list[str]:
    """Split a JSON arguments string into small fragments (about a word each) that join back exactly."""
    return re.findall(r"\s*[^\s]{1,16}|\s+$", arguments) or [arguments]


def arguments_json(call: ToolCall) -> str:
    """Return a tool call's arguments as the JSON string sent on the wire."""
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def response_model(requested: str) -> str:
    """Return the model OpenAI reports for a requested one: the dated snapshot for an alias
    (``gpt-4o-mini`` -> ``gpt-4o-mini-2024-07-18``, per AutoGen's model table, so AutoGen's
    "Resolved model mismatch" warning stays quiet), else the name as requested."""
    try:
        from autogen_ext.models.openai._model_info import resolve_model
    except ImportError:  # pragma: no cover - autogen_ext is a dependency
        return requested
    return resolve_model(requested)


def estimate_tokens(text: str) -> int:
    """Return a deterministic token estimate: characters // 4, at least 1."""
    return max(1, len(text) // 4)


def _prompt_text(request: dict[str, Any]) -> str:
    return json.dumps(request.get("messages", []), sort_keys=True) + json.dumps(
        request.get("tools", []), sort_keys=True
    )


def usage_body(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """Return the ``usage`` object for a reply; cached tokens are capped at the prompt tokens."""
    prompt = (
        reply.prompt_tokens if reply.prompt_tokens is not None else estimate_tokens(_prompt_text(request))
    )
    if reply.completion_tokens is not None:
        completion = reply.completion_tokens
    else:
        text = (reply.content or "") + "".join(tc.name + arguments_json(tc) for tc in reply.tool_calls)
        completion = estimate_tokens(text)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": min(reply.cached_tokens, prompt), "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _finish_reason(reply: Reply) -> str:
    if reply.finish_reason is not None:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def chat_completion(
    request: dict[str, Any], reply: Reply, number: int, model: str, tool_ids: Sequence[str], created: int
) -> dict[str, Any]:
    """Return a complete ``chat.completion`` object for a non-streaming request."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": tid, "type": "function", "function": {"name": tc.name, "arguments": arguments_json(tc)}}
            for tc, tid in zip(reply.tool_calls, tool_ids)
        ]
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(reply)}
        ],
        "usage": usage_body(request, reply),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def stream_events(
    request: dict[str, Any], reply: Reply, number: int, model: str, tool_ids: Sequence[str], created: int
) -> Iterator[str]:
    """Yield the JSON payloads of the SSE ``data:`` lines for a streaming request, ending with ``[DONE]``.

    Content is split into word deltas; tool calls are streamed like OpenAI does (a first delta with
    index, id, type and name, then argument fragments); a final chunk carries the finish reason; a
    usage chunk with empty ``choices`` follows when ``stream_options.include_usage`` is true.
    """
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    base = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        body = dict(
            base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        )
        if include_usage:
            body["usage"] = None
        return json.dumps(body)

    if reply.content:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in split_words(reply.content):
            yield chunk({"content": piece})
    for index, (call, tid) in enumerate(zip(reply.tool_calls, tool_ids)):
        first: dict[str, Any] = {
            "tool_calls": [
                {
                    "index": index,
                    "id": tid,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
            ]
        }
        if index == 0 and not reply.content:
            first = {"role": "assistant", "content": None, **first}
        yield chunk(first)
        for piece in split_arguments(arguments_json(call)):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    if not reply.content and not reply.tool_calls:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
    yield chunk({}, _finish_reason(reply))
    if include_usage:
        yield json.dumps(dict(base, choices=[], usage=usage_body(request, reply)))
    yield "[DONE]"


def error_body(status: int, message: str, error_type: str | None, code: str | None) -> dict[str, Any]:
    """Return an OpenAI-style error body ``{"error": {"message", "type", "param", "code"}}``."""
    default_type = "server_error" if status >= 500 else _ERROR_TYPES.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": error_type or default_type, "param": None, "code": code}}
