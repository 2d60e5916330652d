"""A recording process for the reliability tests: ``python record_script.py MODE STORE [N]``.

Modes:
  slow N        one team whose model answers slowly; prints ``MSG <i>`` after each message is seen
  concurrent N  N teams at once in one event loop; prints one JSON line with each run's message count
  hang N        one team whose model answers N calls, then hangs on the next; prints ``HANGING`` then
"""

from __future__ import annotations

import asyncio
import json
import sys

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat

import teamtape
from teamtape.demo.server import Reply, ScriptedOpenAIServer


def team(server: ScriptedOpenAIServer, tag: str, max_messages: int) -> RoundRobinGroupChat:
    client = server.client("gpt-4o-mini")
    agents = [
        AssistantAgent(f"{tag}_a", model_client=client),
        AssistantAgent(f"{tag}_b", model_client=client),
    ]
    return RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(max_messages))


async def slow(store: str, n: int) -> None:
    with ScriptedOpenAIServer(lambda req: Reply(content="thinking it over", delay_s=0.05)) as server:
        async with teamtape.record(store=store, name="slow"):
            i = 0
            async for item in team(server, "slow", n).run_stream(task="go"):
                if not isinstance(item, TaskResult):
                    i += 1
                    print(f"MSG {i}", flush=True)


async def concurrent(store: str, n: int) -> None:
    with ScriptedOpenAIServer(
        lambda req: Reply(content=f"reply to {len(req['messages'])} messages")
    ) as server:
        async with teamtape.record(store=store, name="concurrent") as rec:
            results = await asyncio.gather(
                *(team(server, f"t{i}", 6).run(task=f"task {i}") for i in range(n))
            )
        tasks = {r.messages[0].content: len(r.messages) for r in results}
        print(json.dumps({"tasks": tasks, "run_ids": rec.run_ids}), flush=True)


async def hang(store: str, n: int) -> None:
    answered = [0]

    def answer(request: dict[str, object]) -> Reply:
        answered[0] += 1
        if answered[0] <= n:
            return Reply(content="on it")
        print("HANGING", flush=True)
        return Reply(content="too late", delay_s=600)

    with ScriptedOpenAIServer(answer) as server:
        async with teamtape.record(store=store, name="hang"):
            await team(server, "hang", 100).run(task="go")


if __name__ == "__main__":
    mode, store, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run({"slow": slow, "concurrent": concurrent, "hang": hang}[mode](store, count))
