"""What a demo scenario gets from its caller, and what it leaves behind for inspection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from teamtape.demo.server import Reply, Responder, ScriptedOpenAIServer

if TYPE_CHECKING:
    from autogen_agentchat.base import TaskResult

__all__ = ["API_KEY", "Scenario", "ScenarioContext", "ScenarioFn", "ServerFactory"]

API_KEY = "sk-demo-not-a-real-key"
"""The fake API key the demo clients send (the recorder must redact it)."""

ServerFactory = Callable[["Responder | Sequence[Reply | str]"], ScriptedOpenAIServer]


@dataclass
class ScenarioContext:
    """Passed to a scenario; collects what it did so callers and tests can inspect it.

    Attributes:
        server_factory: Creates each scripted server (default: :class:`ScriptedOpenAIServer`).
        results: Every ``TaskResult`` the scenario's runs returned, in order.
        errors: Exceptions the scenario caught and swallowed (e.g. the scripted provider failure).
        servers: The servers the scenario created, in order.
        notes: Free-form per-scenario facts (e.g. tool invocations), keyed by name.
    """

    server_factory: ServerFactory = ScriptedOpenAIServer
    results: list[TaskResult] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    servers: list[ScriptedOpenAIServer] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def server(self, responder: Responder | Sequence[Reply | str]) -> ScriptedOpenAIServer:
        """Create (not start) a scripted server through :attr:`server_factory` and remember it."""
        server = self.server_factory(responder)
        self.servers.append(server)
        return server


ScenarioFn = Callable[[ScenarioContext], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """A named, self-contained demo run.

    Attributes:
        name: Short identifier (``swarm_support``...).
        description: One line for humans.
        run: ``async def run(ctx: ScenarioContext) -> None``; owns its servers and model clients.
    """

    name: str
    description: str
    run: ScenarioFn

    async def __call__(self, ctx: ScenarioContext | None = None) -> ScenarioContext:
        """Run the scenario with ``ctx`` (a fresh one when None) and return the context."""
        ctx = ctx if ctx is not None else ScenarioContext()
        await self.run(ctx)
        return ctx
