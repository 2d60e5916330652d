"""Memory queries, save_state/load_state snapshots, and component configs (with secrets redacted)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import BaseChatMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import CancellationToken, ComponentLoader
from autogen_core.memory import ListMemory, MemoryContent, MemoryMimeType

import teamtape
from teamtape.recorder import RecorderWarning


async def test_list_memory_queries_are_recorded_with_their_results(
    serve, client, store_path, recorded, stream
) -> None:
    memory = ListMemory(name="user_prefs")
    await memory.add(MemoryContent(content="The user prefers metric units.", mime_type=MemoryMimeType.TEXT))
    await memory.add(MemoryContent(content="The user lives in Oslo.", mime_type=MemoryMimeType.TEXT))
    server = serve(["It is 12 °C in Oslo."])
    agent = AssistantAgent(
        "weather", model_client=client(server), memory=[memory], model_client_stream=stream
    )
    async with teamtape.record(store=store_path):
        result = await agent.run(task="What's the weather?")

    db = recorded()
    run = db.top_run()
    query = db.one("SELECT * FROM memory_queries")
    assert (query["run_id"], query["agent"], query["memory"], query["n_results"]) == (
        run["run_id"],
        "weather",
        "user_prefs",
        2,
    )
    assert [r["content"] for r in query["results"]] == [
        "The user prefers metric units.",
        "The user lives in Oslo.",
    ]
    db.assert_messages_match(run["run_id"], result.messages)
    assert [t for _, t in db.messages(run["run_id"])] == ["TextMessage", "MemoryQueryEvent", "TextMessage"]
    # What the memory added is what the model was sent.
    assert "The user lives in Oslo." in str(db.sent()[0])


async def test_run_ended_state_is_the_teams_save_state(serve, client, store_path, recorded) -> None:
    server = serve(["def fib(n): ...", "Add a docstring.", "Here it is with a docstring.", "LGTM."])
    model = client(server)

    def build() -> RoundRobinGroupChat:
        coder = AssistantAgent("coder", model_client=model, system_message="You write Python code.")
        reviewer = AssistantAgent("reviewer", model_client=model, system_message="You review code.")
        return RoundRobinGroupChat([coder, reviewer], termination_condition=MaxMessageTermination(3))

    team = build()
    async with teamtape.record(store=store_path) as rec:
        await team.run(task="Write a Fibonacci function.")
        saved = await team.save_state()
        restored = build()
        await restored.load_state(json.loads(json.dumps(saved)))
        await restored.run(task="Finish it.")

    db = recorded()
    first, second = (db.events(run_id, "run_ended")[0]["payload"] for run_id in rec.run_ids)
    assert first["state"] == json.loads(json.dumps(saved))
    assert first["state"]["type"] == "TeamState"
    # The restored team carried the conversation on: its first call holds the first run's history.
    history = [m.get("content") for m in db.sent("run_id = ?", rec.run_ids[1])[0]]
    assert history[1:] == ["Write a Fibonacci function.", "def fib(n): ...", "Add a docstring.", "Finish it."]
    assert second["state"]["agent_states"].keys() == first["state"]["agent_states"].keys()


async def test_run_started_config_is_the_component_with_the_api_key_redacted(
    serve, client, store_path, recorded, api_key
) -> None:
    server = serve(["Hello."])
    model = client(server, default_headers={"X-Org-Key": api_key})
    agent = AssistantAgent("greeter", model_client=model, system_message="Greet people.")
    team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
    expected = team.dump_component().model_dump(mode="json")
    async with teamtape.record(store=store_path):
        await team.run(task="Say hi.")

    db = recorded()
    (started,) = db.events(db.top_run()["run_id"], "run_started")
    config = started["payload"]["config"]
    model_config = config["config"]["participants"][0]["config"]["model_client"]["config"]
    assert model_config["api_key"] == "[REDACTED]"
    assert model_config["default_headers"] == {"X-Org-Key": "[REDACTED]"}
    expected_model = expected["config"]["participants"][0]["config"]["model_client"]["config"]
    expected_model.update(api_key="[REDACTED]", default_headers={"X-Org-Key": "[REDACTED]"})
    assert config == expected
    assert started["payload"]["config_error"] is None
    # The key is nowhere: not in the database, not in any journal or file of the store.
    assert server.requests and api_key in str(model._client.default_headers)
    assert not db.rows("SELECT event_id FROM events WHERE CAST(payload AS VARCHAR) LIKE ?", f"%{api_key}%")
    leaks = [p for p in Path(store_path).rglob("*") if p.is_file() and api_key.encode() in p.read_bytes()]
    assert leaks == []


async def test_a_team_loaded_from_its_config_records_the_same_config(
    serve, client, store_path, recorded
) -> None:
    server = serve(["Hi.", "Hi again."])
    agent = AssistantAgent("greeter", model_client=client(server))
    team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
    loaded = ComponentLoader.load_component(team.dump_component(), expected=RoundRobinGroupChat)
    async with teamtape.record(store=store_path):
        await team.run(task="Say hi.")
        await loaded.run(task="Say hi.")

    db = recorded()
    configs = [db.events(r["run_id"], "run_started")[0]["payload"]["config"] for r in db.runs()]
    assert configs[0] == configs[1]
    assert len({r["session_id"] for r in db.runs()}) == 2  # two team objects, two sessions


class Stubborn(BaseChatAgent):
    """An agent that answers but cannot save its state."""

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (TextMessage,)

    async def on_messages(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> Response:
        return Response(chat_message=TextMessage(content="no.", source=self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        pass

    async def save_state(self) -> Mapping[str, Any]:
        raise RuntimeError("this agent keeps no state")


async def test_a_team_whose_state_cannot_be_saved_still_finishes_and_says_why(store_path, recorded) -> None:
    team = RoundRobinGroupChat([Stubborn("stubborn", "Says no.")], max_turns=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with teamtape.record(store=store_path):
            result = await team.run(task="Say yes.")

    assert result.messages[-1].content == "no."
    assert not [w for w in caught if issubclass(w.category, RecorderWarning)]
    db = recorded()
    run = db.top_run()
    assert run["status"] == "ok"
    (ended,) = db.events(run["run_id"], "run_ended")
    assert "state" not in ended["payload"]
    assert ended["payload"]["state_error"] == "RuntimeError: this agent keeps no state"
