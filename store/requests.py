"""LLM request messages, stored as deltas and resolved back to full lists.

An agent's conversation grows by a few messages per model call, so each ``llm_call`` event stores
only what is new::

    request.messages = [{"$blob": h}, ...]          # the messages added since the base call
    request.base     = {"call_id": "...", "keep": k} # optional: first k messages of that call come first

A call without ``base`` lists every message. :func:`resolve_request_messages` turns a run's calls back
into full lists of blob references; :func:`expand_llm_requests` does it in place on events;
:class:`RequestResolver` does it call by call (for events as they come).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from .events import Event


class RequestResolver:
    """Full message-reference lists of requests fed in call order.

    With ``streaming``, for a consumer that sees calls without end (a live OTLP sink), a call's list
    is let go once a later call has built on it (each call is the base of at most the next call of the
    same agent), and only the last few calls of each agent of a run (``key``) are kept in any case. A
    base call that is missing (e.g. lost to a crash) contributes nothing rather than failing.
    """

    RECENT_PER_KEY = 4

    def __init__(self, *, streaming: bool = False) -> None:
        self.full: dict[str, list[Any]] = {}
        self._streaming = streaming
        self._recent: dict[tuple[str, Any], deque[str]] = {}

    def resolve(
        self, call_id: str, request: Mapping[str, Any], key: tuple[str, Any] | None = None
    ) -> list[Any]:
        """The full list of ``call_id``'s request (whose ``base``, if any, was resolved before);
        ``key``: (run id, agent) of the call, for streaming."""
        messages = self._whole(request, let_go=self._streaming)
        self.full[call_id] = messages
        if self._streaming and key is not None:
            recent = self._recent.setdefault(key, deque())
            recent.append(call_id)
            if len(recent) > self.RECENT_PER_KEY:
                self.full.pop(recent.popleft(), None)
        return messages

    def peek(self, request: Mapping[str, Any]) -> list[Any]:
        """The full list of a request that is not answered yet: its base is kept for the answer."""
        return self._whole(request, let_go=False)

    def _whole(self, request: Mapping[str, Any], *, let_go: bool) -> list[Any]:
        messages = list(request.get("messages") or [])
        base = request.get("base")
        if isinstance(base, Mapping):
            base_id = str(base.get("call_id"))
            prefix = self.full.pop(base_id, []) if let_go else self.full.get(base_id, [])
            keep = base.get("keep")
            messages = (prefix[:keep] if isinstance(keep, int) else prefix) + messages
        return messages

    def forget_run(self, run_id: str) -> None:
        """Let go of the lists of a run that ended (call ids begin with their run's id)."""
        for call_id in [c for c in self.full if c.startswith(f"{run_id}-")]:
            del self.full[call_id]
        for key in [k for k in self._recent if k[0] == run_id]:
            del self._recent[key]


def resolve_request_messages(requests: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, list[Any]]:
    """Full message-reference lists for ``(call_id, request)`` pairs given in call order."""
    resolver = RequestResolver()
    for call_id, request in requests:
        resolver.resolve(call_id, request)
    return resolver.full


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
