"""LLM request messages, stored as deltas and resolved back to full lists.

An agent's conversation grows by a few messages per model call, so each ``llm_call`` event stores
only what is new::

    request.messages = [{"$blob": h}, ...]          # the messages added since the base call
    request.base     = {"call_id": "...", "keep": k} # optional: first k messages of that call come first

A call without ``base`` lists every message. :func:`resolve_request_messages` turns a run's calls back
into full lists of blob references; :func:`expand_llm_requests` does it in place on events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .events import Event


def resolve_request_messages(requests: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, list[Any]]:
    """Full message-reference lists for ``(call_id, request)`` pairs given in call order.

    A base call that is missing (e.g. lost to a crash) contributes nothing rather than failing.
    """
    full: dict[str, list[Any]] = {}
    for call_id, request in requests:
        messages = list(request.get("messages") or [])
        base = request.get("base")
        if isinstance(base, Mapping):
            prefix = full.get(str(base.get("call_id")), [])
            keep = base.get("keep")
            messages = (prefix[:keep] if isinstance(keep, int) else prefix) + messages
        full[call_id] = messages
    return full


def expand_llm_requests(events: list[Event]) -> list[Event]:
    """Rewrite the ``llm_call`` events of one run so ``request.messages`` is the full list."""
    calls = [e for e in events if e.kind == "llm_call" and isinstance(e.payload.get("request"), dict)]
    resolved = resolve_request_messages((str(e.payload.get("call_id")), e.payload["request"]) for e in calls)
    for e in calls:
        request = dict(e.payload["request"])
        request["messages"] = resolved[str(e.payload.get("call_id"))]
        request.pop("base", None)
        e.payload = {**e.payload, "request": request}
    return events
