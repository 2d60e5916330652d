"""Nested runs: AgentTool, TeamTool, a team as a participant, SocietyOfMindAgent."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent, SocietyOfMindAgent
from autogen_agentchat.conditions import MaxMessageTermination, SourceMatchTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_agentchat.tools import AgentTool, TeamTool

import teamtape
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ToolCall


def assert_costs_roll_up(db, parent_id: str) -> None:
    """A parent run's cost is its own calls' plus every descendant's."""
    rows = db.rows(
        """WITH RECURSIVE tree(run_id) AS (
               SELECT ? UNION ALL SELECT r.run_id FROM runs r JOIN tree t ON r.parent_run_id = t.run_id)
           SELECT sum(cost_usd) AS total, count(*) AS n FROM llm_calls WHERE run_id IN (SELECT run_id FROM tree)""",
        parent_id,
    )
    parent = db.one("SELECT own_cost_usd, cost_usd FROM runs WHERE run_id = ?", parent_id)
    assert rows[0]["total"] > parent["own_cost_usd"] > 0
    assert abs(parent["cost_usd"] - rows[0]["total"]) < 1e-12


async def test_agent_tool_runs_the_inner_agent_as_a_child_run(
    serve, client, store_path, recorded, stream
) -> None:
    script = Script()
    script.route("orchestrator", system_contains="Delegate writing").then(
        Reply(tool_calls=[ToolCall("writer", {"task": "A haiku about queues."})], prompt_tokens=200),
        Reply(content="Here is your haiku.", prompt_tokens=260),
    )
    script.route("writer", system_contains="Write concise").then(
        Reply(content="Messages wait in line", prompt_tokens=90)
    )
    server = serve(script)
    writer = AssistantAgent(
        "writer",
        description="A writer.",
        model_client=client(server),
        system_message="Write concise text.",
        model_client_stream=stream,
    )
    orchestrator = AssistantAgent(
        "orchestrator",
        model_client=client(server, parallel_tool_calls=False),
        tools=[AgentTool(agent=writer, return_value_as_last_message=True)],
        system_message="Delegate writing tasks to the writer tool.",
        reflect_on_tool_use=True,
        model_client_stream=stream,
    )
    async with teamtape.record(store=store_path) as rec:
        await orchestrator.run(task="Write a haiku about queues.")

    db = recorded()
    parent = db.top_run()
    child = db.one("SELECT * FROM runs WHERE parent_run_id IS NOT NULL")
    assert rec.run_ids == [parent["run_id"], child["run_id"]]
    assert (child["parent_run_id"], child["team_type"], child["task"], child["status"]) == (
        parent["run_id"],
        "AssistantAgent",
        "A haiku about queues.",
        "ok",
    )
    tool = db.one("SELECT * FROM tool_calls")
    assert (tool["run_id"], tool["tool"], tool["tool_kind"], tool["child_run_id"]) == (
        parent["run_id"],
        "writer",
        "agent",
        child["run_id"],
    )
    assert tool["result"] == "Messages wait in line"
    assert db.messages(child["run_id"]) == [("user", "TextMessage"), ("writer", "TextMessage")]
    calls = db.rows("SELECT run_id, agent FROM llm_calls ORDER BY ts")
    assert [(c["run_id"] == child["run_id"], c["agent"]) for c in calls] == [
        (False, "orchestrator"),
        (True, "writer"),
        (False, "orchestrator"),
    ]
    assert (parent["llm_calls"], child["llm_calls"]) == (2, 1)
    assert_costs_roll_up(db, parent["run_id"])


async def test_team_tool_runs_the_team_as_a_child_run(serve, client, store_path, recorded, stream) -> None:
    script = Script()
    script.route("orchestrator", system_contains="Use the writing team").then(
        Reply(tool_calls=[ToolCall("writing_team", {"task": "Blog post on agents."})]),
        "Done: the team wrote it.",
    )
    script.route("drafter", system_contains="Draft content").then("Agents are here.")
    script.route("summarizer", system_contains="Produce the final").then("Final: agents are here to stay.")
    server = serve(script)
    model = client(server)
    drafter = AssistantAgent(
        "drafter", model_client=model, system_message="Draft content.", model_client_stream=stream
    )
    summarizer = AssistantAgent("summarizer", model_client=model, system_message="Produce the final version.")
    team = RoundRobinGroupChat(
        [drafter, summarizer], termination_condition=SourceMatchTermination(["summarizer"])
    )
    tool = TeamTool(
        team=team, name="writing_team", description="A writing team.", return_value_as_last_message=True
    )
    orchestrator = AssistantAgent(
        "orchestrator",
        model_client=client(server, parallel_tool_calls=False),
        tools=[tool],
        system_message="Use the writing team tool.",
        reflect_on_tool_use=True,
    )
    async with teamtape.record(store=store_path):
        await orchestrator.run(task="Write a blog post about AI agents.")

    db = recorded()
    parent = db.top_run()
    child = db.one("SELECT * FROM runs WHERE parent_run_id = ?", parent["run_id"])
    assert (child["team_type"], child["task"], child["stop_reason"]) == (
        "RoundRobinGroupChat",
        "Blog post on agents.",
        "'summarizer' answered",
    )
    assert child["participants"] == ["drafter", "summarizer"]
    row = db.one("SELECT tool, tool_kind, child_run_id, result FROM tool_calls")
    assert row == {
        "tool": "writing_team",
        "tool_kind": "team",
        "child_run_id": child["run_id"],
        "result": "Final: agents are here to stay.",
    }
    child_calls = db.rows("SELECT agent FROM llm_calls WHERE run_id = ? ORDER BY ts", child["run_id"])
    assert [c["agent"] for c in child_calls] == ["drafter", "summarizer"]
    assert_costs_roll_up(db, parent["run_id"])


async def test_a_team_as_a_participant_is_a_child_run(serve, client, store_path, recorded) -> None:
    script = Script()
    script.route("poet", system_contains="You write poems").then("Roses are red.")
    script.route("editor", system_contains="You edit poems").then("Roses are crimson.")
    script.route("judge", system_contains="You judge").then("Approved.")
    server = serve(script)
    model = client(server)
    inner = RoundRobinGroupChat(
        [
            AssistantAgent("poet", model_client=model, system_message="You write poems."),
            AssistantAgent("editor", model_client=model, system_message="You edit poems."),
        ],
        termination_condition=MaxMessageTermination(3),
        name="poetry_team",
        description="Writes and edits poems.",
    )
    judge = AssistantAgent("judge", model_client=model, system_message="You judge poems.")
    outer = RoundRobinGroupChat([inner, judge], termination_condition=SourceMatchTermination(["judge"]))
    async with teamtape.record(store=store_path):
        result = await outer.run(task="A poem about roses.")

    db = recorded()
    parent = db.top_run()
    child = db.one("SELECT * FROM runs WHERE parent_run_id = ?", parent["run_id"])
    assert parent["participants"] == ["poetry_team", "judge"]
    assert (child["team_type"], child["participants"]) == ("RoundRobinGroupChat", ["poet", "editor"])
    calls = db.rows("SELECT agent, run_id FROM llm_calls ORDER BY ts")
    assert [(c["agent"], c["run_id"] == child["run_id"]) for c in calls] == [
        ("poet", True),
        ("editor", True),
        ("judge", False),
    ]
    db.assert_messages_match(parent["run_id"], result.messages)
    assert ("editor", "TextMessage") in db.messages(child["run_id"])
    assert_costs_roll_up(db, parent["run_id"])


async def test_society_of_mind_inner_team_is_a_child_run(serve, client, store_path, recorded, stream) -> None:
    script = Script()
    script.route("writer", system_contains="You are a writer").then("Draft: the sea is wide.")
    script.route("critic", system_contains="You are a critic").then("Good enough. APPROVE")
    script.route("som", when=lambda r: "Output a standalone response" in str(r["messages"])).then(
        "The sea is wide."
    )
    script.route("translator", system_contains="You translate").then("Havet er stort.")
    server = serve(script)
    model = client(server)
    inner = RoundRobinGroupChat(
        [
            AssistantAgent(
                "writer", model_client=model, system_message="You are a writer.", model_client_stream=stream
            ),
            AssistantAgent(
                "critic", model_client=model, system_message="You are a critic.", model_client_stream=stream
            ),
        ],
        termination_condition=MaxMessageTermination(3),
    )
    som = SocietyOfMindAgent("society", team=inner, model_client=model)
    translator = AssistantAgent(
        "translator", model_client=model, system_message="You translate to Norwegian."
    )
    team = RoundRobinGroupChat([som, translator], max_turns=2)
    async with teamtape.record(store=store_path):
        result = await team.run(task="Write a line about the sea.")

    db = recorded()
    parent = db.top_run()
    child = db.one("SELECT * FROM runs WHERE parent_run_id = ?", parent["run_id"])
    assert child["team_type"] == "RoundRobinGroupChat"
    assert child["participants"] == ["writer", "critic"]
    calls = db.rows("SELECT agent, run_id, streamed FROM llm_calls ORDER BY ts")
    assert [c["streamed"] for c in calls] == [stream, stream, False, False]
    assert [(c["agent"], c["run_id"] == child["run_id"]) for c in calls] == [
        ("writer", True),
        ("critic", True),
        ("society", False),
        ("translator", False),
    ]
    db.assert_messages_match(parent["run_id"], result.messages)
    assert [m for m in db.messages(child["run_id"]) if m[0] != "user"] == [
        ("writer", "TextMessage"),
        ("critic", "TextMessage"),
    ]
    assert_costs_roll_up(db, parent["run_id"])


async def test_parallel_agent_tools_each_name_their_own_child_run(
    serve, client, store_path, recorded
) -> None:
    script = Script()
    script.route("lead", system_contains="You coordinate").then(
        Reply(
            tool_calls=[
                ToolCall("french", {"task": "Translate: good morning"}),
                ToolCall("german", {"task": "Translate: good night"}),
            ]
        ),
        "Bonjour / Gute Nacht.",
    )
    script.route("french", system_contains="into French").then(Reply(content="Bonjour", delay_s=0.05))
    script.route("german", system_contains="into German").then("Gute Nacht")
    server = serve(script)
    model = client(server)
    french = AssistantAgent(
        "french", description="French.", model_client=model, system_message="Translate into French."
    )
    german = AssistantAgent(
        "german", description="German.", model_client=model, system_message="Translate into German."
    )
    lead = AssistantAgent(
        "lead",
        model_client=model,
        tools=[
            AgentTool(french, return_value_as_last_message=True),
            AgentTool(german, return_value_as_last_message=True),
        ],
        system_message="You coordinate translators.",
        reflect_on_tool_use=True,
    )
    async with teamtape.record(store=store_path):
        await lead.run(task="Say good morning in French and good night in German.")

    db = recorded()
    parent = db.top_run()
    rows = db.rows(
        """SELECT t.tool, t.result, r.task, r.participants FROM tool_calls t JOIN runs r ON r.run_id = t.child_run_id
           WHERE r.parent_run_id = ? ORDER BY t.tool""",
        parent["run_id"],
    )
    assert rows == [
        {
            "tool": "french",
            "result": "Bonjour",
            "task": "Translate: good morning",
            "participants": ["french"],
        },
        {
            "tool": "german",
            "result": "Gute Nacht",
            "task": "Translate: good night",
            "participants": ["german"],
        },
    ]
    for row in db.rows("SELECT run_id, participants FROM runs WHERE parent_run_id IS NOT NULL"):
        agents = {r["agent"] for r in db.rows("SELECT agent FROM llm_calls WHERE run_id = ?", row["run_id"])}
        assert agents == set(row["participants"])
