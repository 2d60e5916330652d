"""Turning autogen objects into JSON payloads, with large or repeated content stored once as blobs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

from teamtape.store import RawJson

BlobSink = Callable[[str, str, Any], None]
"""Called as ``sink(hash, media_type, data)`` the first time a blob is seen."""


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-friendly copy of any value autogen hands us; never raises."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth > 48:
        return repr(value)[:200]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": len(value), "text": bytes(value[:256]).decode("utf-8", "replace")}
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return to_jsonable(dump(mode="json"), _depth + 1)
        except Exception:
            try:
                return to_jsonable(dump(), _depth + 1)
            except Exception:
                pass
    if hasattr(value, "__dataclass_fields__"):
        return {f: to_jsonable(getattr(value, f, None), _depth + 1) for f in value.__dataclass_fields__}
    return repr(value)[:2000]


def content_hash(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class BlobTable:
    """Content-addressed storage for one process: each distinct content is emitted once."""

    def __init__(self, sink: BlobSink) -> None:
        self._sink = sink
        self._seen: set[str] = set()

    def put(self, media_type: str, data: Any) -> dict[str, str]:
        """Store ``data`` (JSON value) once; returns a ``{"$blob": hash}`` reference."""
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=repr)
        return self.put_json(media_type, text, lambda: data)

    def put_json(self, media_type: str, text: str, data: Callable[[], Any]) -> dict[str, str]:
        """Like :meth:`put` for content already serialized as ``text``; ``data()`` is called only if new."""
        h = content_hash(text)
        if h not in self._seen:
            self._seen.add(h)
            self._sink(h, media_type, data())
        return {"$blob": h}

    def bound(self, sink: BlobSink) -> BlobTable:
        """This table (each content still emitted once) with new blobs written through ``sink``."""
        view = BlobTable(sink)
        view._seen = self._seen
        return view


def image_ref(image: Any, blobs: BlobTable) -> dict[str, Any]:
    """An autogen Image as a blob reference (the base64 data stored once)."""
    try:
        data = image.to_base64()
    except Exception:
        data = repr(image)
    ref = blobs.put("image/png;base64", data)
    return {"type": "image", **ref}


_IMAGE_TYPES: dict[type, bool] = {}
"""Whether each type of content part seen is an image (has ``to_base64``)."""


def _is_image(part: Any) -> bool:
    cls = type(part)
    known = _IMAGE_TYPES.get(cls)
    if known is None:
        known = _IMAGE_TYPES[cls] = hasattr(cls, "to_base64")
    return known


def _holds_images(content: Any) -> bool:
    """Whether message content is a list with an image in it."""
    return isinstance(content, list) and any(map(_is_image, content))


def _content_with_image_refs(content: Any, blobs: BlobTable) -> Any:
    if isinstance(content, list):
        out = []
        for part in content:
            if hasattr(part, "to_base64") and hasattr(part, "image"):
                out.append(image_ref(part, blobs))
            else:
                out.append(to_jsonable(part))
        return out
    return to_jsonable(content)


def message_payload_json(message: Any, blobs: BlobTable) -> RawJson | dict[str, Any]:
    """The ``message`` payload serialized by pydantic directly when the message has no images."""
    content = getattr(message, "content", None)
    if _holds_images(content):
        return message_payload(message, blobs)
    try:
        body = message.model_dump_json()
        rendered = message.to_text()
    except Exception:
        return message_payload(message, blobs)
    if not body.startswith("{") or not body.endswith("}"):
        return message_payload(message, blobs)
    if '"type":' not in body:
        body = f'{body[:-1]},"type":{json.dumps(type(message).__name__)}}}' if body != "{}" else body
    if rendered == content:  # the text is the content: stored once (see teamtape.store.message_text)
        return RawJson(body)
    text = (
        encode_basestring(rendered) if isinstance(rendered, str) else json.dumps(rendered, ensure_ascii=False)
    )
    return RawJson(f'{body[:-1]},"text":{text}}}' if body != "{}" else f'{{"text":{text}}}')


def message_payload(message: Any, blobs: BlobTable) -> dict[str, Any]:
    """Payload of a ``message`` event for an autogen chat message or agent event."""
    try:
        data = message.model_dump(mode="json", exclude={"content"})
    except Exception:
        data = to_jsonable(message) if not isinstance(message, str) else {"content": message}
        if not isinstance(data, dict):
            data = {"value": data}
    data["type"] = type(message).__name__
    data["content"] = _content_with_image_refs(getattr(message, "content", None), blobs)
    try:
        text = message.to_text()
    except Exception:
        text = str(getattr(message, "content", ""))
    if text != data["content"]:  # the text is the content: stored once (see teamtape.store.message_text)
        data["text"] = text
    return data


class RefCache:
    """Blob references of recently seen objects, by identity, holding at most about ``2 * limit``.

    Agents resend the same message objects call after call, so most lookups hit; but a run with a
    sliding context window would otherwise keep every message it ever saw alive (memory, and garbage
    collector passes that grow with the run). Two generations: when the young one is full it becomes
    the old one and the previous old one is dropped; a hit in the old generation moves back to the
    young one. A miss only costs recomputing the same content-addressed reference.

    Each generation is two dicts by ``id``: the objects (kept alive, so an id is not reused while it is
    a key) and their references. No container per entry: everything the cache keeps lives long, and
    each long-lived container object brings the collector's next full pass closer.
    """

    def __init__(self, limit: int = 2048) -> None:
        self.limit = limit
        self._young: dict[int, Any] = {}
        self._young_refs: dict[int, dict[str, str]] = {}
        self._old: dict[int, Any] = {}
        self._old_refs: dict[int, dict[str, str]] = {}

    def get(self, obj: Any) -> dict[str, str] | None:
        key = id(obj)
        if self._young.get(key) is obj:
            return self._young_refs[key]
        if self._old.get(key) is obj:
            ref = self._old_refs[key]
            self.put(obj, ref)
            return ref
        return None

    def put(self, obj: Any, ref: dict[str, str]) -> None:
        if len(self._young) >= self.limit:
            self._old, self._old_refs = self._young, self._young_refs
            self._young, self._young_refs = {}, {}
        key = id(obj)
        self._young[key] = obj
        self._young_refs[key] = ref

    def __len__(self) -> int:
        return len(self._young) + len(self._old)


def llm_message_ref(message: Any, blobs: BlobTable, cache: RefCache) -> dict[str, str]:
    """A request message (LLMMessage) as a blob reference, memoised per object for this run."""
    hit = cache.get(message)
    if hit is not None:
        return hit
    media_type = "application/vnd.autogen.llm-message+json"
    content = getattr(message, "content", None)
    text: str | None = None
    if isinstance(content, str):
        text = message.model_dump_json()  # pydantic's own serializer: no Python-level walk
    elif isinstance(content, list) and not _holds_images(content):
        try:  # tool calls, tool results, text parts: no image to store apart
            text = message.model_dump_json()
        except Exception:
            text = None
    if text is not None:
        body = text
        ref = blobs.put_json(media_type, body, lambda: RawJson(body))
    else:
        try:
            data = message.model_dump(mode="json", exclude={"content"})
            data["content"] = _content_with_image_refs(message.content, blobs)
        except Exception:
            data = to_jsonable(message)
        ref = blobs.put(media_type, data)
    cache.put(message, ref)
    return ref


def tool_schemas(tools: Sequence[Any]) -> list[Any]:
    """JSON schemas of the tools offered to a model."""
    out = []
    for tool in tools or []:
        schema = getattr(tool, "schema", tool)
        out.append(to_jsonable(schema))
    return out


def json_output_form(json_output: Any) -> Any:
    """``json_output`` as stored: a bool, or the structured-output model's name and JSON schema."""
    if json_output is None or isinstance(json_output, bool):
        return json_output
    if isinstance(json_output, type) and hasattr(json_output, "model_json_schema"):
        try:
            return {"name": json_output.__name__, "schema": json_output.model_json_schema()}
        except Exception:
            return {"name": json_output.__name__}
    return to_jsonable(json_output)


def tool_choice_form(tool_choice: Any) -> Any:
    if isinstance(tool_choice, str) or tool_choice is None:
        return tool_choice
    return {"tool": getattr(tool_choice, "name", repr(tool_choice))}


def create_result_payload(result: Any) -> dict[str, Any]:
    """The parts of a CreateResult worth keeping."""
    usage = getattr(result, "usage", None)
    return {
        "content": to_jsonable(getattr(result, "content", None)),
        "thought": getattr(result, "thought", None),
        "finish_reason": getattr(result, "finish_reason", None),
        "cached": bool(getattr(result, "cached", False)),
        "usage": {
            "prompt_tokens": getattr(usage, "prompt_tokens", None),
            "completion_tokens": getattr(usage, "completion_tokens", None),
        },
    }


def error_payload(error: BaseException, with_traceback: bool = False) -> dict[str, Any]:
    """Type, message (the provider's own where there is one) and optionally the traceback."""
    out: dict[str, Any] = {
        "type": type(error).__name__,
        "module": type(error).__module__,  # where a replay finds the class to raise it again
        "message": str(error)[:20000],
    }
    status = getattr(error, "status_code", None)
    if status is not None:
        out["status_code"] = status
    body = getattr(error, "body", None)
    if body is not None:
        out["body"] = to_jsonable(body)
    if with_traceback:
        import traceback

        out["traceback"] = "".join(traceback.format_exception(type(error), error, error.__traceback__))[
            -50000:
        ]
    return out
