"""Normalized model requests: what a replay matches on, and its sha256 fingerprint.

A request is normalized into the parts that decide what a model answers: the model name, the
messages (without volatile ids or timestamps; tool-call ids replaced by their order of first
appearance in the request, so ``call_7``/``call_7`` and ``toolu_x``/``toolu_x`` compare equal), the
tool schemas, ``tool_choice`` and ``json_output`` (JSON mode or the structured-output schema).

The same code normalizes a live request (autogen objects) and a recorded one (the JSON the
recorder stored), so a request replayed unchanged has exactly the fingerprint it was recorded with.
Each message's normal form is computed once per message object (live) or once per blob (recorded).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from teamtape.recorder._serialize import (
    BlobTable,
    _content_with_image_refs,
    json_output_form,
    to_jsonable,
    tool_choice_form,
    tool_schemas,
)

VOLATILE_KEYS = frozenset({"created_at", "timestamp"})
"""Keys dropped from messages wherever they occur."""

_ID_SLOT = "\u0000id"


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _arguments_form(arguments: Any) -> Any:
    """Tool-call arguments compared as JSON values (key order and spacing do not matter)."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def _template(value: Any, ids: list[str]) -> Any:
    """A copy of a message's JSON form with volatile keys dropped and tool-call ids taken out."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        is_call = "arguments" in value and "name" in value and "id" in value
        is_result = "call_id" in value and "content" in value
        for key, item in value.items():
            if key in VOLATILE_KEYS:
                continue
            if (is_call and key == "id") or (is_result and key == "call_id"):
                ids.append(str(item))
                out[key] = _ID_SLOT
            elif is_call and key == "arguments":
                out[key] = _arguments_form(item)
            else:
                out[key] = _template(item, ids)
        return out
    if isinstance(value, list):
        return [_template(v, ids) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class MessageKey:
    """One request message, normalized.

    Attributes:
        digest: sha256 of the normal form with tool-call ids taken out.
        ids: the tool-call ids the message holds, in order.
        form: the normal form (for diffs).
    """

    digest: str
    ids: tuple[str, ...]
    form: dict[str, Any]


def message_key(data: dict[str, Any]) -> MessageKey:
    """Normalize one request message given in its recorded JSON form (``model_dump(mode="json")``)."""
    ids: list[str] = []
    form = _template(data, ids)
    return MessageKey(_digest(form), tuple(ids), form)


def message_json(message: Any, blobs: BlobTable) -> dict[str, Any]:
    """The JSON form the recorder stores for a live ``LLMMessage`` (images as blob references)."""
    try:
        data = message.model_dump(mode="json", exclude={"content"})
        data["content"] = _content_with_image_refs(message.content, blobs)
    except Exception:
        data = to_jsonable(message)
        if not isinstance(data, dict):
            data = {"value": data}
    return data


class MessagesDigest:
    """sha256 over a request's messages, fed one message at a time (so a prefix can be extended).

    Each message contributes its digest and the aliases of its tool-call ids (the order in which each
    id first appears in the request).
    """

    __slots__ = ("_aliases", "_hasher")

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()
        self._aliases: dict[str, int] = {}

    def add(self, key: MessageKey) -> None:
        aliases = self._aliases
        numbers = ",".join(str(aliases.setdefault(i, len(aliases))) for i in key.ids) if key.ids else ""
        self._hasher.update(f"{key.digest}:{numbers};".encode())

    def copy(self) -> MessagesDigest:
        twin = MessagesDigest.__new__(MessagesDigest)
        twin._hasher = self._hasher.copy()
        twin._aliases = dict(self._aliases)
        return twin

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def messages_digest(keys: Sequence[MessageKey]) -> str:
    """The digest of a whole list of normalized messages."""
    digest = MessagesDigest()
    for key in keys:
        digest.add(key)
    return digest.hexdigest()


class LiveMessageCache:
    """Normal forms of live messages, computed once per message object.

    Agents resend their whole context on every call; for each conversation (``slot``) the last
    request is remembered, and a request that extends it only normalizes and hashes what is new.
    """

    def __init__(self) -> None:
        self._blobs = BlobTable(lambda *_: None)
        self._keys: dict[int, tuple[Any, MessageKey]] = {}
        self._last: dict[Any, tuple[list[Any], list[MessageKey], MessagesDigest]] = {}

    def key(self, message: Any) -> MessageKey:
        hit = self._keys.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        key = message_key(message_json(message, self._blobs))
        self._keys[id(message)] = (message, key)
        return key

    def messages(self, messages: Sequence[Any], slot: Any) -> tuple[list[MessageKey], str]:
        """The normalized messages of a request and their digest."""
        current = list(messages)
        last = self._last.get(slot)
        if last is not None and len(current) >= len(last[0]) and all(map(operator.is_, current, last[0])):
            keys, digest, start = list(last[1]), last[2].copy(), len(last[0])
        else:
            keys, digest, start = [], MessagesDigest(), 0
        for message in current[start:]:
            key = self.key(message)
            keys.append(key)
            digest.add(key)
        self._last[slot] = (current, keys, digest)
        return keys, digest.hexdigest()


@dataclass(slots=True)
class NormalizedRequest:
    """A model request reduced to what decides the answer.

    Attributes:
        model: the model name the client was asked for (None when unknown).
        messages: the normalized messages.
        tools: the tool schemas offered, in order.
        tool_choice: ``auto``, ``required``, ``none`` or ``{"tool": name}``.
        json_output: None, a bool, or ``{"name", "schema"}`` of the structured-output model.
        agent: the agent that made the request (not part of the fingerprint).
        messages_digest: the digest of ``messages`` (computed from them when not given).
    """

    model: str | None
    messages: Sequence[MessageKey]
    tools: list[Any]
    tool_choice: Any
    json_output: Any
    agent: str | None = None
    messages_digest: str = ""
    _tools_digest: str | None = field(default=None, repr=False)
    _fingerprint: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.messages_digest:
            self.messages_digest = messages_digest(self.messages)

    @property
    def aliases(self) -> tuple[int, ...]:
        """Each tool-call id replaced by the order in which it first appears in the request."""
        seen: dict[str, int] = {}
        out = []
        for key in self.messages:
            for call_id in key.ids:
                out.append(seen.setdefault(call_id, len(seen)))
        return tuple(out)

    @property
    def tools_digest(self) -> str:
        if self._tools_digest is None:
            self._tools_digest = _digest(self.tools)
        return self._tools_digest

    @property
    def fingerprint(self) -> str:
        """sha256 of the sorted JSON of every part (model, messages, tools, tool_choice, json_output)."""
        if self._fingerprint is None:
            self._fingerprint = _digest(
                {
                    "model": self.model,
                    "messages": self.messages_digest,
                    "tools": self.tools_digest,
                    "tool_choice": self.tool_choice,
                    "json_output": self.json_output,
                }
            )
        return self._fingerprint

    def message_forms(self) -> list[dict[str, Any]]:
        """The messages with tool-call ids replaced by ``#1``, ``#2``... (for diffs)."""
        aliases = iter(self.aliases)
        return [_fill_ids(k.form, aliases) for k in self.messages]


def _fill_ids(value: Any, aliases: Any) -> Any:
    if value == _ID_SLOT:
        return f"#{next(aliases, 0) + 1}"
    if isinstance(value, dict):
        return {k: _fill_ids(v, aliases) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_ids(v, aliases) for v in value]
    return value


def live_request(
    messages: Sequence[Any],
    kwargs: dict[str, Any],
    args: tuple[Any, ...],
    *,
    model: str | None,
    agent: str | None,
    cache: LiveMessageCache,
    slot: Any = None,
) -> NormalizedRequest:
    """Normalize the arguments of a live ``create``/``create_stream`` call.

    ``slot`` names the conversation (e.g. the client object's id), so that a request extending the
    previous one of the same agent and slot is normalized incrementally.
    """
    tools = kwargs.get("tools", args[0] if args else None) or []
    messages = list(messages or [])
    keys, digest = cache.messages(messages, (agent, slot, id(messages[0]) if messages else None))
    return NormalizedRequest(
        model=model,
        messages=keys,
        messages_digest=digest,
        tools=tool_schemas(tools) if tools else [],
        tool_choice=tool_choice_form(kwargs.get("tool_choice", "auto")),
        json_output=json_output_form(kwargs.get("json_output")),
        agent=agent,
    )


def recorded_request(
    payload: dict[str, Any],
    blob_data: Any,
    key_cache: dict[str, MessageKey],
    agent: str | None,
    message_refs: list[Any] | None = None,
    prefixes: dict[Any, tuple[list[Any], list[MessageKey], MessagesDigest]] | None = None,
) -> NormalizedRequest:
    """Normalize the request of a recorded ``llm_call`` payload.

    Args:
        payload: the ``llm_call`` event payload.
        blob_data: ``blob_data(hash)`` returns the JSON data of a blob.
        key_cache: message normal forms by blob hash, shared across calls.
        agent: the agent that made the call.
        message_refs: the full list of message references when the payload stores a delta
            (see :mod:`teamtape.store.requests`); default: ``request.messages``.
        prefixes: the previous request of each agent, so that a request extending it is normalized
            incrementally (shared across calls of one recording).
    """
    request = payload.get("request") or {}
    refs = message_refs if message_refs is not None else request.get("messages") or []
    names = [ref.get("$blob") if isinstance(ref, dict) else None for ref in refs]
    slot = (agent, names[0] if names else None)
    last = prefixes.get(slot) if prefixes is not None else None
    if (
        last is not None
        and None not in names
        and len(names) >= len(last[0])
        and names[: len(last[0])] == last[0]
    ):
        keys, digest, start = list(last[1]), last[2].copy(), len(last[0])
    else:
        keys, digest, start = [], MessagesDigest(), 0
    for ref, name in zip(refs[start:], names[start:]):
        if name is not None:
            key = key_cache.get(name)
            if key is None:
                key = key_cache[name] = message_key(blob_data(name))
        else:
            key = message_key(ref if isinstance(ref, dict) else {"value": ref})
        keys.append(key)
        digest.add(key)
    if prefixes is not None:
        prefixes[slot] = (names, keys, digest)
    tools = request.get("tools")
    if isinstance(tools, dict) and "$blob" in tools:
        tools = blob_data(tools["$blob"])
    return NormalizedRequest(
        model=payload.get("model"),
        messages=keys,
        tools=list(tools or []),
        tool_choice=request.get("tool_choice", "auto"),
        json_output=request.get("json_output"),
        agent=agent,
        messages_digest=digest.hexdigest(),
    )
