"""Routing scripts for :class:`~teamtape.demo.server.ScriptedOpenAIServer`.

When several agents share one server, a :class:`Script` picks the reply per request: each route has
a predicate on the request body (e.g. "the system prompt contains X") and its own queue of replies.

Example::

    script = Script()
    script.route("triage", system_contains="triage agent").then(
        Reply(tool_calls=[ToolCall("transfer_to_flights_refunder", {})])
    )
    script.route("refunder", system_contains="flight refunds").then("Done. TERMINATE")
    with ScriptedOpenAIServer(script) as server: ...
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teamtape.demo.server import Reply

__all__ = [
    "Predicate",
    "Route",
    "Script",
    "ScriptError",
    "last_message_role",
    "last_message_text",
    "message_text",
    "system_prompt",
    "tool_names",
]

Predicate = Callable[[dict[str, Any]], bool]
ReplySource = Reply | str | Callable[[dict[str, Any]], "Reply | str"]
"""A scripted reply, or a callable computing it from the request body."""


class ScriptError(LookupError):
    """No route can answer a request (none matches, or every matching route is exhausted)."""


def message_text(message: dict[str, Any]) -> str:
    """Return the text of one OpenAI message (string content or the text parts of a list)."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
    return "\n".join(parts)


def system_prompt(request: dict[str, Any]) -> str:
    """Return the text of all system/developer messages of a request, joined by newlines."""
    messages = request.get("messages") or []
    return "\n".join(message_text(m) for m in messages if m.get("role") in ("system", "developer"))


def last_message_text(request: dict[str, Any]) -> str:
    """Return the text of the request's last message ("" when there is none)."""
    messages = request.get("messages") or []
    return message_text(messages[-1]) if messages else ""


def last_message_role(request: dict[str, Any]) -> str:
    """Return the role of the request's last message (``user``, ``assistant``, ``tool``...)."""
    messages = request.get("messages") or []
    return str(messages[-1].get("role", "")) if messages else ""


def tool_names(request: dict[str, Any]) -> list[str]:
    """Return the names of the tools offered in the request."""
    return [t.get("function", {}).get("name", "") for t in request.get("tools") or []]


@dataclass
class Route:
    """A named predicate with a queue of replies.

    Attributes:
        name: The route name (shown in errors and in :attr:`Script.served`).
        predicate: Whether this route answers a request.
        replies: Replies still to serve, in order.
    """

    name: str
    predicate: Predicate
    replies: deque[ReplySource] = field(default_factory=deque)

    def then(self, *replies: ReplySource) -> Route:
        """Append replies to the queue; returns the route for chaining."""
        self.replies.extend(replies)
        return self


class Script:
    """A responder that routes each request to the first matching route with replies left."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.served: list[str] = []
        """Route names in the order they answered."""
        self._lock = threading.Lock()

    def route(
        self,
        name: str,
        when: Predicate | None = None,
        *,
        system_contains: str | None = None,
        model: str | None = None,
        last_message_contains: str | None = None,
        last_role: str | None = None,
        has_tool: str | None = None,
    ) -> Route:
        """Add a route; all given conditions must hold.

        Args:
            name: The route name.
            when: An arbitrary predicate on the request body.
            system_contains: The system prompt contains this text.
            model: The requested model equals this.
            last_message_contains: The last message's text contains this.
            last_role: The last message has this role (e.g. ``"tool"`` after a tool call).
            has_tool: A tool of this name is offered.

        Returns:
            The new route; add replies with :meth:`Route.then`.
        """
        checks: list[Predicate] = []
        if when is not None:
            checks.append(when)
        if system_contains is not None:
            checks.append(lambda r, s=system_contains: s in system_prompt(r))
        if model is not None:
            checks.append(lambda r, m=model: r.get("model") == m)
        if last_message_contains is not None:
            checks.append(lambda r, s=last_message_contains: s in last_message_text(r))
        if last_role is not None:
            checks.append(lambda r, role=last_role: last_message_role(r) == role)
        if has_tool is not None:
            checks.append(lambda r, t=has_tool: t in tool_names(r))
        route = Route(name, lambda r: all(check(r) for check in checks))
        self.routes.append(route)
        return route

    def remaining(self) -> dict[str, int]:
        """Return the number of unserved replies per route."""
        return {route.name: len(route.replies) for route in self.routes}

    def assert_exhausted(self) -> None:
        """Raise AssertionError when some route still has replies."""
        left = {name: n for name, n in self.remaining().items() if n}
        if left:
            raise AssertionError(f"scripted replies left unserved: {left}")

    def __call__(self, request: dict[str, Any]) -> Reply | str:
        """Answer one request (used by the server)."""
        with self._lock:
            matching = [route for route in self.routes if route.predicate(request)]
            for route in matching:
                if route.replies:
                    source = route.replies.popleft()
                    self.served.append(route.name)
                    break
            else:
                summary = (
                    f"model={request.get('model')!r}, system prompt starts {system_prompt(request)[:80]!r}, "
                    f"last message {last_message_text(request)[:80]!r}"
                )
                if matching:
                    names = ", ".join(r.name for r in matching)
                    raise ScriptError(f"route(s) {names} exhausted for request ({summary})")
                raise ScriptError(f"no route matches request ({summary})")
        return source(request) if callable(source) else source
