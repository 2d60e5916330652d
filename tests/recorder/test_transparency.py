"""The recorder never changes a team: same results with and without it, no mixing between concurrent
teams, exact restoration by uninstrument(), and no exceptions into user code when the store is broken."""

from __future__ import annotations

import asyncio
import importlib
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.conditions import HandoffTermination, MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_core import EVENT_LOGGER_NAME

import teamtape
from teamtape.demo.script import Script, message_text
from teamtape.demo.server import Reply, ToolCall
from teamtape.recorder import RecorderWarning

VOLATILE = {"id", "created_at", "full_message_id"}


def normalized(item: Any) -> Any:
    """A run_stream item with its ids and timestamps left out."""
    if isinstance(item, TaskResult):
        return {"stop_reason": item.stop_reason, "messages": [normalized(m) for m in item.messages]}
    return {"type": type(item).__name__, **item.model_dump(mode="json", exclude=VOLATILE)}


async def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def tools_team(server: Any, client: Callable[..., Any]) -> Any:
    model = client(server)
    calc = AssistantAgent(
        "calc", model_client=model, tools=[add], model_client_stream=True, system_message="Calc."
    )
    critic = AssistantAgent("critic", model_client=model, system_message="Critic.")
    return RoundRobinGroupChat([calc, critic], termination_condition=MaxMessageTermination(5))


def tools_replies() -> list[Any]:
    return [
        Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 2}), ToolCall("add", {"a": 3, "b": 3})]),
        "Fine.",
        "Now 4 and 6.",
        "Still fine.",
    ]


def selector_team(server: Any, client: Callable[..., Any]) -> Any:
    model = client(server)
    agents = [AssistantAgent(n, model_client=model, system_message=f"You are {n}.") for n in ("ann", "bob")]
    return SelectorGroupChat(agents, model_client=model, termination_condition=TextMentionTermination("BYE"))


def selector_replies() -> Script:
    script = Script()
    script.route("selector", lambda r: "select the next role" in str(r["messages"])).then(
        "ann"
    )  # then bob is the only candidate
    script.route("ann", system_contains="You are ann.").then("Hello bob.")
    script.route("bob", system_contains="You are bob.").then("Hi ann. BYE")
    return script


def swarm_team(server: Any, client: Callable[..., Any]) -> Any:
    model = client(server)
    front = AssistantAgent("front", model_client=model, handoffs=["back"], system_message="Front desk.")
    back = AssistantAgent("back", model_client=model, handoffs=["user"], system_message="Back office.")
    return Swarm([front, back], termination_condition=HandoffTermination("user"))


def swarm_replies() -> Script:
    script = Script()
    script.route("front", system_contains="Front desk.").then(
        Reply(tool_calls=[ToolCall("transfer_to_back", {})])
    )
    script.route("back", system_contains="Back office.").then(
        Reply(content="Need your id.", tool_calls=[ToolCall("transfer_to_user", {})])
    )
    return script


TEAMS = {
    "round_robin_tools_streaming": (tools_team, tools_replies),
    "selector": (selector_team, selector_replies),
    "swarm": (swarm_team, swarm_replies),
}


@pytest.mark.parametrize("shape", list(TEAMS))
async def test_recording_does_not_change_what_a_team_does(serve, client, store_path, recorded, shape) -> None:
    build, replies = TEAMS[shape]

    async def run_once(record: bool) -> tuple[list[Any], list[dict[str, Any]]]:
        server = serve(replies())
        team = build(server, client)
        if record:
            async with teamtape.record(store=store_path):
                items = [item async for item in team.run_stream(task="Go.")]
        else:
            items = [item async for item in team.run_stream(task="Go.")]
        return items, server.requests

    plain_items, plain_requests = await run_once(record=False)
    recorded_items, recorded_requests = await run_once(record=True)

    assert [normalized(i) for i in recorded_items] == [normalized(i) for i in plain_items]
    assert recorded_requests == plain_requests  # byte for byte what the model was sent
    result = recorded_items[-1]
    assert [m.models_usage for m in result.messages] == [m.models_usage for m in plain_items[-1].messages]
    run = recorded().top_run()
    assert run["stop_reason"] == result.stop_reason
    recorded().assert_messages_match(run["run_id"], result.messages)


async def test_concurrent_teams_never_mix_their_events(serve, client, store_path, recorded) -> None:
    script = Script()
    for i in range(4):
        script.route(f"w{i}", system_contains=f"Writer of team {i}.").then(
            Reply(tool_calls=[ToolCall("add", {"a": i, "b": i})], delay_s=0.01 * (3 - i)),
            Reply(content=f"team {i}: {2 * i}", delay_s=0.01 * i),
        )
        script.route(f"r{i}", system_contains=f"Reviewer of team {i}.").then(f"team {i}: approved")
    server = serve(script)
    model = client(server)

    def team(i: int) -> RoundRobinGroupChat:
        writer = AssistantAgent(
            f"writer{i}",
            model_client=model,
            tools=[add],
            system_message=f"Writer of team {i}.",
            reflect_on_tool_use=True,
            model_client_stream=i % 2 == 1,
        )
        reviewer = AssistantAgent(f"reviewer{i}", model_client=model, system_message=f"Reviewer of team {i}.")
        return RoundRobinGroupChat([writer, reviewer], termination_condition=MaxMessageTermination(3))

    async with teamtape.record(store=store_path):
        results = await asyncio.gather(*(team(i).run(task=f"Task of team {i}") for i in range(4)))

    db = recorded()
    runs = {r["task"]: r for r in db.runs()}
    assert len(runs) == 4
    for i, result in enumerate(results):
        run = runs[f"Task of team {i}"]
        own = {"user", f"writer{i}", f"reviewer{i}", "round_robin"}
        db.assert_messages_match(run["run_id"], result.messages)
        events = db.events(run["run_id"])
        assert {e["agent"] for e in events if e["agent"] is not None} <= own
        texts = [
            r["content"] for r in db.rows("SELECT content FROM messages WHERE run_id = ?", run["run_id"])
        ]
        assert all(f"team {j}" not in t for t in texts for j in range(4) if j != i)
        assert db.rows("SELECT arguments FROM tool_calls WHERE run_id = ?", run["run_id"]) == [
            {"arguments": {"a": i, "b": i}}
        ]
        sent = db.sent("run_id = ?", run["run_id"])
        assert all(f"team {i}" in message_text({"content": str(s)}) for s in sent)
        assert (run["llm_calls"], run["tool_calls"]) == (3, 1)


def _wrapped_surface() -> dict[tuple[type, str], Any]:
    """Every attribute of the autogen classes teamtape may wrap, plus the event logger's class."""
    for name in (
        "autogen_agentchat.teams",
        "autogen_agentchat.agents",
        "autogen_ext.models.openai",
        "autogen_ext.models.replay",
        "autogen_ext.models.cache",
        "autogen_core.memory",
    ):
        importlib.import_module(name)
    from autogen_agentchat.agents import BaseChatAgent
    from autogen_agentchat.teams import BaseGroupChat
    from autogen_core import BaseAgent
    from autogen_core.memory import Memory
    from autogen_core.models import ChatCompletionClient

    surface: dict[tuple[type, str], Any] = {}
    stack: list[type] = [BaseGroupChat, BaseChatAgent, BaseAgent, Memory, ChatCompletionClient]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())  # managers and agent containers are BaseAgents
        surface.update({(cls, name): value for name, value in vars(cls).items()})
    surface[(logging.Logger, "event logger class")] = type(logging.getLogger(EVENT_LOGGER_NAME))
    return surface


async def test_instrument_twice_is_a_no_op_and_uninstrument_restores_everything(
    serve, client, store_path, recorded
) -> None:
    before = _wrapped_surface()
    recorder = teamtape.instrument(store=store_path)
    try:
        wrapped = _wrapped_surface()
        changed = {key for key in before if wrapped.get(key) is not before[key]}
        assert len(changed) > 10  # it did wrap: runs, turns, model calls, tools, memory, the logger
        assert teamtape.instrument(store=store_path / "other") is recorder
        assert _wrapped_surface() == wrapped  # nothing wrapped twice
        server = serve(["Recorded.", "Not recorded."])
        agent = AssistantAgent("solo", model_client=client(server))
        await agent.run(task="while instrumented")
    finally:
        teamtape.uninstrument()
    after = _wrapped_surface()
    assert {key for key in before if after.get(key) is not before[key]} == set()
    teamtape.uninstrument()  # idempotent
    await agent.run(task="after uninstrument")

    runs = recorded().runs()
    assert [r["task"] for r in runs] == ["while instrumented"]
    assert not (store_path / "other").exists()


async def test_an_unusable_store_warns_once_and_the_team_runs_unchanged(serve, client, tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store should be")

    async def run(store: Path | None) -> TaskResult:
        server = serve(tools_replies())
        team = tools_team(server, client)
        if store is None:
            return await team.run(task="Go.")
        async with teamtape.record(store=store):
            return await team.run(task="Go.")

    expected = await run(None)
    for broken in (blocker, blocker / "store"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = await run(broken)
        recorder_warnings = [w for w in caught if issubclass(w.category, RecorderWarning)]
        assert len(recorder_warnings) == 1, [str(w.message) for w in recorder_warnings]
        assert str(broken) in str(recorder_warnings[0].message)
        assert normalized(result) == normalized(expected)
    assert blocker.read_text() == "a file where the store should be"


class ExplodingSink:
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, event: Any) -> None:
        self.calls += 1
        raise RuntimeError("sink is broken")

    def close(self) -> None:
        raise RuntimeError("sink cannot close")


async def test_a_failing_live_sink_never_reaches_the_team(serve, client, store_path, recorded) -> None:
    server = serve(tools_replies())
    team = tools_team(server, client)
    sink = ExplodingSink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with teamtape.record(store=store_path, sinks=[sink]):
            result = await team.run(task="Go.")

    assert result.stop_reason == "Maximum number of messages 5 reached, current message count: 5"
    assert sink.calls > 10
    assert all(issubclass(w.category, RecorderWarning) for w in caught if "sink" in str(w.message))
    assert recorded().top_run()["status"] == "ok"  # the store still got everything


def test_a_script_using_asyncio_run_inside_a_sync_record_block_is_recorded(
    serve, store_path, recorded
) -> None:
    server = serve(["Paris."])

    async def main() -> TaskResult:  # the handbook's shape: asyncio.run(main())
        model = server.client("gpt-4o-mini", api_key="tt-test-key-0123456789abcdefghij")
        try:
            return await AssistantAgent("geo", model_client=model).run(task="Capital of France?")
        finally:
            await model.close()

    with teamtape.record(store=store_path) as rec:
        result = asyncio.run(main())

    run = recorded().top_run()
    assert rec.run_ids == [run["run_id"]]
    assert (run["status"], run["llm_calls"]) == ("ok", 1)
    recorded().assert_messages_match(run["run_id"], result.messages)


@pytest.mark.parametrize("collector_on", [True, False])
async def test_the_garbage_collector_is_left_as_the_program_set_it(
    serve, client, store_path, recorded, collector_on
) -> None:
    """The recorder pauses the collector while it snapshots a run's state, and puts it back as it was."""
    import gc

    server = serve(tools_replies())
    team = tools_team(server, client)
    (gc.enable if collector_on else gc.disable)()
    try:
        async with teamtape.record(store=store_path):
            await team.run(task="Go.")
        assert gc.isenabled() is collector_on
    finally:
        gc.enable()
    run = recorded().top_run()
    (ended,) = recorded().events(run["run_id"], "run_ended")
    assert run["status"] == "ok" and ended["payload"]["state"]["type"] == "TeamState", "the state was kept"


class PackagedAgent(AssistantAgent):
    """An agent class the way a package ships it: in a private module (``acme._agents``)."""

    __module__ = "acme._agents"
    component_provider_override = (
        None  # named by its own class, as AutoGen does for a subclass it does not know
    )


async def test_recording_adds_no_warning_about_how_a_team_is_written(
    serve, client, store_path, recorded
) -> None:
    server = serve(["Done."])
    team = RoundRobinGroupChat(
        [PackagedAgent("helper", model_client=client(server))], termination_condition=MaxMessageTermination(2)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with teamtape.record(store=store_path):
            await team.run(task="Go.")

    assert [
        str(w.message) for w in caught
    ] == []  # AutoGen's "Internal module name" is for the class's author
    db = recorded()
    config = db.events(db.top_run()["run_id"], "run_started")[0]["payload"]["config"]
    assert config["config"]["participants"][0]["provider"] == "acme._agents.PackagedAgent"
