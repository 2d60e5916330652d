"""Replay benchmark: a recorded 200-LLM-call run, replayed, against AutoGen's bare replay client.

Run from the repository root::

    .venv/bin/python -m tests.bench.bench_replay [--calls 200] [--repeat 7]

The team is a round robin of two agents (one with a tool it calls every other turn); every turn
is one model call, so the run makes ``--calls`` calls and its context grows to that many messages.
It is recorded once (driven by AutoGen's ``ReplayChatCompletionClient``), exported as a tape, then
timed, in-process and side by side, building the team and its clients each time:

- ``floor``: the same team driven by AutoGen's bare ``ReplayChatCompletionClient`` (answers by
  position, no matching at all);
- ``teamtape client``: the team on ``teamtape.replay.ReplayChatCompletionClient(tape)``: every request
  normalized, fingerprinted and matched;
- ``teamtape serving``: the team built with its usual clients, inside ``serving(session)``, so model
  calls and tool results are served by the interceptor (what ``teamtape replay --factory`` does,
  without storing the replay).

Figures are printed as ``name: value``; the goal of issue 3 is ``ratio <= 1.25``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import BaseChatMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import EVENT_LOGGER_NAME, FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient as BareReplayClient

import teamtape
from teamtape.replay import ReplayChatCompletionClient, ReplaySession, export_tape, read_tape, serving

MODEL_INFO: Any = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": "unknown",
    "structured_output": False,
}


def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


def _answers(calls: int) -> tuple[list[Any], list[Any]]:
    """What each agent's model answers, in order (the researcher calls its tool every other turn)."""
    usage = RequestUsage(prompt_tokens=100, completion_tokens=10)
    researcher, writer = [], []
    for i in range(calls):
        if i % 2 == 0:
            turn = i // 2
            if turn % 2 == 0:
                call = FunctionCall(id=f"call_{turn}", name="lookup", arguments=f'{{"key": "k{turn}"}}')
                researcher.append(
                    CreateResult(finish_reason="function_calls", content=[call], usage=usage, cached=False)
                )
            else:
                researcher.append(
                    CreateResult(
                        finish_reason="stop", content=f"Finding {turn}: all good.", usage=usage, cached=False
                    )
                )
        else:
            writer.append(
                CreateResult(
                    finish_reason="stop", content=f"Draft {i}: noted, continuing.", usage=usage, cached=False
                )
            )
    return researcher, writer


def build_team(calls: int, researcher_client: Any, writer_client: Any) -> RoundRobinGroupChat:
    researcher = AssistantAgent(
        "researcher",
        model_client=researcher_client,
        tools=[lookup],
        system_message="You research with the lookup tool.",
    )
    writer = AssistantAgent("writer", model_client=writer_client, system_message="You write up findings.")
    return RoundRobinGroupChat([researcher, writer], termination_condition=MaxMessageTermination(calls + 1))


def bare_team(calls: int) -> RoundRobinGroupChat:
    researcher, writer = _answers(calls)
    return build_team(
        calls,
        BareReplayClient(researcher, model_info=MODEL_INFO),
        BareReplayClient(writer, model_info=MODEL_INFO),
    )


def _chat_messages(result: Any) -> int:
    return sum(1 for m in result.messages if isinstance(m, BaseChatMessage))


async def record(calls: int, directory: Path) -> Path:
    async with teamtape.record(store=directory / "store") as recording:
        result = await bare_team(calls).run(task="Research and write up.")
    store = teamtape.open_store(directory / "store")
    n = store.query("SELECT llm_calls FROM runs WHERE run_id = ?", [recording.run_ids[0]])[0]["llm_calls"]
    assert n == calls, f"recorded {n} model calls, expected {calls}"
    assert _chat_messages(result) == calls + 1
    path = directory / "bench.tape.json"
    export_tape(store, recording.run_ids[0], path)
    return path


async def run_floor(calls: int, tape: Path) -> int:
    return _chat_messages(await bare_team(calls).run(task="Research and write up."))


async def run_client(calls: int, tape: Path) -> int:
    client = ReplayChatCompletionClient(tape, model_info=MODEL_INFO)
    return _chat_messages(await build_team(calls, client, client).run(task="Research and write up."))


async def run_serving(calls: int, tape: Path) -> int:
    session = ReplaySession(read_tape(tape))
    with serving(session):
        messages = _chat_messages(await bare_team(calls).run(task="Research and write up."))
    assert session.stats.model_served == calls and not session.stats.mismatches
    return messages


async def timed(fn: Callable[[int, Path], Any], calls: int, tape: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run (CPU time is steadier on a busy machine)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    messages = await fn(calls, tape)
    elapsed, cpu_elapsed = time.perf_counter() - start, time.process_time() - cpu
    assert messages == calls + 1, f"{fn.__name__} produced {messages} chat messages"
    return elapsed, cpu_elapsed


async def main(calls: int, repeat: int) -> None:
    # AutoGen's replay client warns on every call with tool calls in its context ("Token count has been
    # done only on string content"); printing that would slow the floor down, so nobody logs.
    logging.getLogger(EVENT_LOGGER_NAME).setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        tape = await record(calls, Path(tmp))
        print(f"tape: {tape.stat().st_size / 1024:.0f} KiB for {calls} model calls")
        runners = {"floor": run_floor, "teamtape client": run_client, "teamtape serving": run_serving}
        wall: dict[str, list[float]] = {name: [] for name in runners}
        cpu: dict[str, list[float]] = {name: [] for name in runners}
        for fn in runners.values():  # warm-up: imports, first-call caches
            await timed(fn, calls, tape)
        for _ in range(repeat):
            for name, fn in runners.items():  # interleaved, so a busy moment hits every contestant
                w, c = await timed(fn, calls, tape)
                wall[name].append(w)
                cpu[name].append(c)
        for name in runners:
            print(
                f"{name} median: {statistics.median(wall[name]) * 1000:.0f} ms wall, "
                f"{statistics.median(cpu[name]) * 1000:.0f} ms cpu (min {min(wall[name]) * 1000:.0f} ms wall)"
            )
        for name in ("teamtape client", "teamtape serving"):
            print(
                f"ratio ({name} / floor): {statistics.median(wall[name]) / statistics.median(wall['floor']):.2f} wall, "
                f"{statistics.median(cpu[name]) / statistics.median(cpu['floor']):.2f} cpu, "
                f"{min(wall[name]) / min(wall['floor']):.2f} min wall"
            )


def factory() -> RoundRobinGroupChat:
    """``teamtape replay RUN --factory tests.bench.bench_replay:factory``: the benchmark team."""
    return bare_team(200)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=200, help="model calls in the recorded run (default 200)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each (default 7)")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.repeat))
