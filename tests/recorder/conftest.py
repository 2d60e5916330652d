"""Fixtures for the recorder tests: scripted OpenAI servers, recordings, and SQL over what they wrote.

Every test here builds a real AutoGen team around a real ``OpenAIChatCompletionClient`` talking HTTP
to a :class:`~teamtape.demo.server.ScriptedOpenAIServer` on loopback, records it with
``teamtape.record(...)`` into a fresh store, and asserts on what a user would see in that store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import tiktoken

import teamtape
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, Responder, ScriptedOpenAIServer
from teamtape.store import Store
from teamtape.store.requests import resolve_request_messages

API_KEY = "tt-test-key-0123456789abcdefghij"
"""The fake API key every test client uses: it must never appear in a store (and no built-in
pattern matches it, so only the recorder knowing it is a key keeps it out)."""


@pytest.fixture
def api_key() -> str:
    """The fake API key the test clients send."""
    return API_KEY


@pytest.fixture(autouse=True)
def no_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """count_tokens/remaining_tokens would make tiktoken download encodings: fail loudly instead."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the test triggered tiktoken (count_tokens / remaining_tokens)")

    for name in ("get_encoding", "encoding_for_model"):
        monkeypatch.setattr(tiktoken, name, refuse)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where this test's recording goes (created by the recorder)."""
    return tmp_path / "store"


ServerFactory = Callable[["Responder | Sequence[Reply | str]"], ScriptedOpenAIServer]


@pytest.fixture
def serve() -> Iterator[ServerFactory]:
    """Start scripted servers for a test; they are stopped (and checked for script errors) after it."""
    servers: list[ScriptedOpenAIServer] = []

    def start(responder: Responder | Sequence[Reply | str]) -> ScriptedOpenAIServer:
        server = ScriptedOpenAIServer(responder).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    errors = [e for server in servers for e in server.errors]
    assert not errors, f"the scripted server could not answer: {errors[0]}"
    for server in servers:
        if isinstance(server.responder, Script):
            server.responder.assert_exhausted()


@pytest.fixture(params=[False, True], ids=["plain", "stream"])
def stream(request: pytest.FixtureRequest) -> bool:
    """Run a test twice: with plain model calls and with ``model_client_stream=True``."""
    return bool(request.param)


def make_client(server: ScriptedOpenAIServer, model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
    """A real OpenAIChatCompletionClient on ``server``; streamed calls report usage."""
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("stream_options", {"include_usage": True})
    return server.client(model, **kwargs)


@pytest.fixture
async def client() -> AsyncIterator[Callable[..., Any]]:
    """``client(server, model=..., **kwargs)``: see :func:`make_client`; closed after the test."""
    made: list[Any] = []

    def make(server: ScriptedOpenAIServer, model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
        made.append(make_client(server, model, **kwargs))
        return made[-1]

    yield make
    for c in made:
        await c.close()


class Recorded:
    """What a test reads back from its store: rows of the projections and events, JSON decoded."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Run SQL over the store; JSON columns come back decoded."""
        return [{k: _decode(v) for k, v in row.items()} for row in self.store.query(sql, list(params))]

    def one(self, sql: str, *params: Any) -> dict[str, Any]:
        """The single row a query returns (fails the test when there are none or several)."""
        rows = self.rows(sql, *params)
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {rows}"
        return rows[0]

    def runs(self) -> list[dict[str, Any]]:
        """Every run, in start order."""
        return self.rows("SELECT * FROM runs ORDER BY started_at")

    def top_run(self) -> dict[str, Any]:
        """The one run without a parent."""
        return self.one("SELECT * FROM runs WHERE parent_run_id IS NULL")

    def events(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Events of a run in order, as dicts (payload decoded)."""
        out = [e.to_dict() for e in self.store.events(run_id)]
        return [e for e in out if kind is None or e["kind"] == kind]

    def messages(self, run_id: str) -> list[tuple[str, str]]:
        """(source, type) of a run's messages in order."""
        return [
            (r["source"], r["type"])
            for r in self.rows("SELECT source, type FROM messages WHERE run_id = ? ORDER BY seq", run_id)
        ]

    def assert_messages_match(self, run_id: str, messages: Sequence[Any]) -> None:
        """The run's recorded messages are exactly ``messages`` (a TaskResult's): source, type, text, usage."""
        rows = self.rows(
            "SELECT source, type, content, prompt_tokens, completion_tokens FROM messages WHERE run_id = ? ORDER BY seq",
            run_id,
        )
        recorded = [
            (r["source"], r["type"], r["content"], r["prompt_tokens"], r["completion_tokens"]) for r in rows
        ]
        expected = []
        for m in messages:
            usage = m.models_usage
            tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (None, None)
            expected.append((m.source, type(m).__name__, m.to_text(), *tokens))
        assert recorded == expected

    def blob(self, ref: dict[str, str]) -> Any:
        """The content a ``{"$blob": hash}`` reference stands for."""
        return self.one("SELECT data FROM blobs WHERE hash = ?", ref["$blob"])["data"]

    def sent(self, where: str = "true", *params: Any) -> list[list[dict[str, Any]]]:
        """The full message list of each LLM call (in order), resolved from deltas and blobs."""
        everything = self.rows("SELECT call_id, request FROM llm_calls ORDER BY ts, seq")
        refs = resolve_request_messages((c["call_id"], c["request"]) for c in everything)
        wanted = self.rows(f"SELECT call_id FROM llm_calls WHERE {where} ORDER BY ts, seq", *params)
        return [[self.blob(ref) for ref in refs[c["call_id"]]] for c in wanted]


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@pytest.fixture
def recorded(store_path: Path) -> Callable[[], Recorded]:
    """``recorded()`` opens what the test recorded into ``store_path``."""
    return lambda: Recorded(teamtape.open_store(store_path))
