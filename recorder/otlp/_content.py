"""Message content in the two shapes backends read: GenAI ``gen_ai.*.messages`` JSON and
OpenInference's flattened ``llm.input_messages.{i}.message.*`` attributes.

Only used when content capture is on. Request messages are stored as blobs (``{"$blob": hash}``);
``resolve`` turns a reference into the AutoGen ``LLMMessage`` JSON it stands for.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from . import semconv as sc

BlobLookup = Callable[[str], Any]
"""Returns the data of a blob by hash, or None when it is unknown."""

_ROLES = {
    "SystemMessage": "system",
    "UserMessage": "user",
    "AssistantMessage": "assistant",
    "FunctionExecutionResultMessage": "tool",
}
_FINISH = {
    "function_calls": "tool_call",
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
}


class BlobCache:
    """Blob contents seen in the event stream, least recently used dropped beyond ``max_bytes``."""

    def __init__(self, max_bytes: int, fallback: BlobLookup | None = None) -> None:
        self._data: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes
        self._fallback = fallback

    def put(self, payload: dict[str, Any]) -> None:
        """Remember the data of a ``blob`` event."""
        size = len(str(payload.get("data")))
        if not payload.get("hash") or size > self._max:
            return
        self._data[str(payload["hash"])] = (payload.get("data"), size)
        self._bytes += size
        while self._bytes > self._max and self._data:
            _, (_, dropped) = self._data.popitem(last=False)
            self._bytes -= dropped

    def get(self, digest: str) -> Any:
        """The data of a blob, from the cache or else from the fallback (the store)."""
        hit = self._data.get(digest)
        if hit is not None:
            self._data.move_to_end(digest)
            return hit[0]
        return self._fallback(digest) if self._fallback else None


def resolve(value: Any, lookup: BlobLookup) -> Any:
    """The data behind a ``{"$blob": hash}`` reference (or the value itself when it is not one)."""
    if isinstance(value, dict) and set(value) == {"$blob"}:
        return lookup(str(value["$blob"]))
    return value


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _parts(content: Any) -> list[dict[str, Any]]:
    """GenAI message parts for an AutoGen message content (text, images, calls or call results)."""
    items = content if isinstance(content, list) else [content]
    parts: list[dict[str, Any]] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            parts.append({"type": "text", "content": item})
        elif isinstance(item, dict) and "call_id" in item:
            parts.append(
                {"type": "tool_call_response", "id": item.get("call_id"), "response": item.get("content")}
            )
        elif isinstance(item, dict) and "arguments" in item and "name" in item:
            parts.append(
                {
                    "type": "tool_call",
                    "id": item.get("id"),
                    "name": item.get("name"),
                    "arguments": _arguments(item.get("arguments")),
                }
            )
        elif isinstance(item, dict) and item.get("type") == "image":
            parts.append({"type": "image"})
        else:
            parts.append({"type": "text", "content": item if isinstance(item, str) else to_json(item)})
    return parts


def input_messages(refs: Any, lookup: BlobLookup) -> list[dict[str, Any]]:
    """The request messages of an ``llm_call`` as GenAI input messages."""
    out: list[dict[str, Any]] = []
    for ref in refs if isinstance(refs, list) else []:
        data = resolve(ref, lookup)
        if not isinstance(data, dict):
            out.append({"role": "user", "parts": [{"type": "text", "content": "[content not in the store]"}]})
            continue
        message: dict[str, Any] = {"role": _ROLES.get(str(data.get("type")), "user"), "parts": []}
        if data.get("source") and message["role"] == "user":
            message["name"] = data["source"]
        if data.get("thought"):
            message["parts"].append({"type": "reasoning", "content": data["thought"]})
        message["parts"].extend(_parts(data.get("content")))
        out.append(message)
    return out


def output_messages(response: Any) -> list[dict[str, Any]]:
    """The response of an ``llm_call`` as GenAI output messages."""
    if not isinstance(response, dict):
        return []
    parts: list[dict[str, Any]] = []
    if response.get("thought"):
        parts.append({"type": "reasoning", "content": response["thought"]})
    parts.extend(_parts(response.get("content")))
    reason = str(response.get("finish_reason") or "stop")
    return [{"role": "assistant", "parts": parts, "finish_reason": _FINISH.get(reason, reason)}]


def _text_of(parts: list[dict[str, Any]]) -> str:
    texts = []
    for p in parts:
        if p["type"] in ("text", "reasoning"):
            texts.append(str(p.get("content", "")))
        elif p["type"] == "tool_call_response":
            texts.append(str(p.get("response", "")))
    return "\n".join(texts)


def openinference_messages(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Flatten GenAI messages into OpenInference attributes under ``prefix`` (e.g. llm.input_messages)."""
    attrs: dict[str, Any] = {}
    for i, message in enumerate(messages[-sc.OI_MAX_MESSAGES :]):
        base = f"{prefix}.{i}."
        attrs[base + sc.OI_MESSAGE_ROLE] = message["role"]
        text = _text_of(message["parts"])
        if text:
            attrs[base + sc.OI_MESSAGE_CONTENT] = text
        calls = [p for p in message["parts"] if p["type"] == "tool_call"]
        for j, call in enumerate(calls):
            call_base = f"{base}{sc.OI_MESSAGE_TOOL_CALLS}.{j}."
            if call.get("id"):
                attrs[call_base + sc.OI_TOOL_CALL_ID] = str(call["id"])
            attrs[call_base + sc.OI_TOOL_CALL_FUNCTION_NAME] = str(call.get("name"))
            attrs[call_base + sc.OI_TOOL_CALL_FUNCTION_ARGUMENTS] = to_json(call.get("arguments"))
    return attrs
