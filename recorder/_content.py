"""Recording without content: what is kept when ``record(capture_content=False)``.

Structure, timing, tokens, costs, names and errors stay; what people or models wrote (messages,
prompts, tool arguments and results, memory contents, state snapshots) is replaced by its size.
Such a recording cannot be replayed, but costs, latencies and the shape of a run are all there.
"""

from __future__ import annotations

import json
from typing import Any

OMITTED = "$omitted"
# Of a message, only what says who, when, what kind and at what cost.
MESSAGE_FIELDS_KEPT = frozenset({"id", "source", "target", "type", "models_usage", "created_at", "full_message_id"})


def _size(value: Any) -> dict[str, int]:
    try:
        n = len(value if isinstance(value, str) else json.dumps(value, default=str))
    except Exception:
        n = 0
    return {OMITTED: n}


def _drop_fields(payload: dict[str, Any], fields: tuple[str, ...], empty: Any = None) -> dict[str, Any]:
    out = dict(payload)
    for name in fields:
        if out.get(name) not in (None, "", [], {}):
            out[name] = _size(out[name]) if empty is None else empty
    return out


def without_content(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of an event of ``kind`` with its content replaced by sizes."""
    if kind == "message":
        out = {k: v for k, v in payload.items() if k in MESSAGE_FIELDS_KEPT}
        out["content"] = _size({k: v for k, v in payload.items() if k not in MESSAGE_FIELDS_KEPT})
        out["text"] = ""
        return out
    if kind == "message_chunks":
        return {**payload, "text": ""}
    if kind == "llm_call":
        response = payload.get("response")
        if isinstance(response, dict):
            payload = {**payload, "response": _drop_fields(response, ("content", "thought"))}
        return payload
    if kind == "tool_call":
        return _drop_fields(payload, ("arguments", "result"))
    if kind == "memory_query":
        return {**_drop_fields(payload, ("query",)), "results": []}
    if kind == "run_started":
        return {**_drop_fields(payload, ("task",)), "task_messages": []}
    if kind == "run_ended":
        return _drop_fields(payload, ("state",))
    return payload
