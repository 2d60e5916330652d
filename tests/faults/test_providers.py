"""Faults outside teamtape: a model server that errors, hangs or streams garbage; an OTLP endpoint that is
down or never answers. The team fails (or not) exactly as it would unrecorded, and the store says how
it really went, with the provider's own message.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from fault_helpers import ROOT, note

import teamtape
from teamtape.demo.server import Reply, ScriptedOpenAIServer
from teamtape.store import open_store

OTLP_DIR = ROOT / "tests" / "otlp"


def pair(server: ScriptedOpenAIServer, stream: bool, **client_kwargs: Any) -> RoundRobinGroupChat:
    client = server.client("gpt-4o-mini", max_retries=0, **client_kwargs)
    agents = [
        AssistantAgent(name, model_client=client, model_client_stream=stream) for name in ("writer", "critic")
    ]
    return RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(4))


async def run_both_ways(
    replies: list[Reply], store: Path, stream: bool, **client_kwargs: Any
) -> tuple[str, str]:
    """The same scripted failure, unrecorded then recorded: the error each run raised."""
    raised = []
    for recorded in (False, True):
        with ScriptedOpenAIServer(list(replies)) as server:
            team = pair(server, stream, **client_kwargs)
            try:
                if recorded:
                    async with teamtape.record(store=store):
                        await team.run(task="Write, then review.")
                else:
                    await team.run(task="Write, then review.")
            except Exception as e:
                raised.append(f"{type(e).__name__}: {e}".split("\nTraceback")[0])
            else:
                raised.append("")
    return raised[0], raised[1]


FAILURES = {
    "rate-limited": (
        Reply(error_status=429, error_message="Rate limit reached for gpt-4o-mini (req_9x)."),
        "Rate limit reached for gpt-4o-mini (req_9x).",
    ),
    "server-error": (
        Reply(error_status=503, error_message="The engine is currently overloaded (req_7y)."),
        "The engine is currently overloaded (req_7y).",
    ),
    "garbage-stream": (
        Reply(content="half an answer and then noise", garbage_stream=True),
        "Unterminated string",
    ),
    "hangs": (Reply(content="never sent", hang=True), "timed out"),
}


CASES = [
    (failure, stream)
    for failure in sorted(FAILURES)
    for stream in (True, False)
    if stream or failure != "garbage-stream"
]  # garbage is a streaming failure


@pytest.mark.parametrize(
    ("failure", "stream"), CASES, ids=[f"{f}-{'stream' if s else 'plain'}" for f, s in CASES]
)
async def test_a_failing_model_server_is_recorded_as_it_failed(
    tmp_path: Path, failure: str, stream: bool
) -> None:
    reply, provider_message = FAILURES[failure]
    store = tmp_path / "store"
    unrecorded, recorded = await run_both_ways([Reply(content="Draft."), reply], store, stream, timeout=0.5)
    assert recorded == unrecorded != "", "the team failed the same way with and without teamtape"

    db = open_store(store)
    run = db.query("SELECT status, error, messages FROM runs")[0]
    assert run["status"] == "error" and run["messages"] == 2  # the task and the writer's draft
    call = db.query("SELECT agent, streamed, error, response FROM llm_calls WHERE error IS NOT NULL")
    assert len(call) == 1 and call[0]["agent"] == "critic" and call[0]["streamed"] == stream
    assert (
        provider_message.lower() in call[0]["error"].lower()
        and provider_message.lower() in run["error"].lower()
    )
    note("faults survived: model server errors, hangs and garbage", 1)


def otlp_receivers() -> Any:
    import sys

    if str(OTLP_DIR) not in sys.path:
        sys.path.insert(0, str(OTLP_DIR))
    import otlp_receivers

    return otlp_receivers


@pytest.mark.parametrize("endpoint", ["down", "hanging"])
async def test_an_otlp_endpoint_down_or_hanging_costs_the_team_nothing(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = otlp_receivers()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    replies = [Reply(content=f"turn {i}") for i in range(3)]
    with ScriptedOpenAIServer(list(replies)) as server:
        plain = [m.content for m in (await pair(server, False).run(task="go")).messages]
    silent = rx.SilentServer()
    url = f"http://127.0.0.1:{rx.free_port()}" if endpoint == "down" else silent.endpoint
    with (
        silent,
        warnings.catch_warnings(record=True) as caught,
        ScriptedOpenAIServer(list(replies)) as server,
    ):
        warnings.simplefilter("always")
        started = time.perf_counter()
        async with teamtape.record(store=tmp_path / "store", otlp_endpoint=url):
            result = await pair(server, False).run(task="go")
        elapsed = time.perf_counter() - started
    assert [m.content for m in result.messages] == plain
    assert elapsed < 6.0, f"recording with an {endpoint} endpoint took {elapsed:.1f} s"
    otlp = [str(w.message) for w in caught if type(w.message).__name__ == "OtlpExportWarning"]
    assert len(otlp) == 1 and url in otlp[0] and "teamtape export otlp" in otlp[0], otlp
    run = open_store(tmp_path / "store").query("SELECT status, messages, llm_calls FROM runs")[0]
    assert run == {"status": "ok", "messages": 4, "llm_calls": 3}
    note("faults survived: OTLP endpoint down or hanging", 1)
