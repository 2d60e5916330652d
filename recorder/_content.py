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
MESSAGE_FIELDS_KEPT = frozenset(
    {"id", "source", "target", "type", "models_usage", "created_at", "full_message_id"}
)


def _size(value: Any) -> dict[str, int]:
    """What was left out, as its length in characters (of its compact JSON form unless it is text)."""
    try:
        n = len(value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":")))
    except Exception:
        n = 0
    return {OMITTED: n}


def _drop_fields(payload: dict[str, Any], fields: tuple[str, ...], empty: Any = None) -> dict[str, Any]:
    out = dict(payload)
    for name in fields:
        if out.get(name) not in (None, "", [], {}):
            out[name] = _size(out[name]) if empty is None else empty
    return out


def message_without_content(message: Any) -> dict[str, Any] | None:
    """The ``message`` payload of a pydantic message without its content, straight from the message.

    What :func:`without_content` keeps of its full payload, without serializing the content first
    (``text``, rendered from the content, is not counted in the size). None when the message cannot
    be read that way (the caller then takes the long way).
    """
    try:
        kept = message.model_dump(mode="json", include=MESSAGE_FIELDS_KEPT)
        rest = message.model_dump_json(exclude=MESSAGE_FIELDS_KEPT)
    except Exception:
        return None
    if not isinstance(kept, dict):
        return None
    kept.setdefault("type", type(message).__name__)
    return _bare_message(kept, {OMITTED: len(rest)})


def _bare_message(kept: dict[str, Any], size: dict[str, int]) -> dict[str, Any]:
    """A message payload of only its kept fields, its content replaced by ``size``."""
    kept["content"] = size
    kept["text"] = ""
    return kept


def without_content(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of an event of ``kind`` with its content replaced by sizes."""
    if kind == "message":
        kept = {k: v for k, v in payload.items() if k in MESSAGE_FIELDS_KEPT}
        return _bare_message(kept, _size({k: v for k, v in payload.items() if k not in MESSAGE_FIELDS_KEPT}))
    if kind == "message_chunks":
        return {**payload, "text": ""}
    if kind == "llm_call":
        response = payload.get("response")
        if isinstance(response, dict):
            payload = {**payload, "response": _drop_fields(response, ("content", "thought"))}
        return payload
    if kind == "tool_call":
        bare = _drop_fields(payload, ("arguments", "result"))
        if isinstance(payload.get("error"), dict):  # its message and traceback repeat the result
            bare["error"] = {"type": payload["error"].get("type")}
        return bare
    if kind == "memory_query":
        return {**_drop_fields(payload, ("query",)), "results": []}
    if kind == "run_started":
        return {**_drop_fields(payload, ("task",)), "task_messages": []}
    if kind == "run_ended":
        return _drop_fields(payload, ("state",))
    return payload
