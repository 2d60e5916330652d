"""End to end: real AutoGen teams recorded by teamtape, sent live over OTLP and exported again later."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from otlp_receivers import HttpReceiver
from otlp_teams import TASK, make_team, script

import teamtape
from teamtape.demo import ScriptedOpenAIServer
from teamtape.recorder.otlp import export_runs, run_span_id, trace_id_for
from teamtape.recorder.otlp import semconv as sc

HERE = Path(__file__).parent


def _tree(spans) -> dict[str, list[str]]:
    by_id = {s.span_id: s for s in spans}
    out: dict[str, list[str]] = {}
    for s in spans:
        parent = by_id.get(s.parent_span_id)
        out.setdefault(parent.name if parent else "", []).append(s.name)
    return {k: sorted(v) for k, v in out.items()}


def _keys(spans):
    return sorted((s.name, s.trace_id, s.span_id, s.parent_span_id, s.start_ns, s.end_ns) for s in spans)


async def test_a_recorded_team_is_sent_live_and_the_store_export_is_identical(tmp_path) -> None:
    with HttpReceiver() as live, HttpReceiver() as later, ScriptedOpenAIServer(script()) as server:
        team = await make_team(server)
        async with teamtape.record(store=tmp_path / "store", otlp_endpoint=live.endpoint) as rec:
            result = await team.run(task=TASK)
        assert result.stop_reason.startswith("Maximum number of messages")
        spans = live.got.spans()
        top = rec.run_ids[0]
        assert _tree(spans) == {
            "": ["invoke_workflow RoundRobinGroupChat"],
            "invoke_workflow RoundRobinGroupChat": ["invoke_agent clerk", "invoke_agent manager"],
            "invoke_agent clerk": ["chat gpt-4o-mini", "execute_tool lookup_order", "retrieval order_notes"],
            "invoke_agent manager": ["chat gpt-4o-mini", "execute_tool researcher"],
            "execute_tool researcher": ["invoke_workflow researcher"],
            "invoke_workflow researcher": ["invoke_agent researcher"],
            "invoke_agent researcher": ["chat gpt-4o-mini"],
        }
        assert {s.trace_id for s in spans} == {f"{trace_id_for(top):032x}"}
        root = next(s for s in spans if not s.parent_span_id)
        assert root.span_id == f"{run_span_id(top):016x}"
        session = rec.store.query("SELECT session_id FROM runs WHERE run_id = ?", [top])[0]["session_id"]
        assert root.attributes[sc.GEN_AI_CONVERSATION_ID] == session
        assert root.attributes[sc.TT_RUN_STATUS] == "ok"
        chats = [s for s in spans if s.name == "chat gpt-4o-mini"]
        assert sorted(s.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] for s in chats) == [40, 120, 200]
        assert all(s.attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18" for s in chats)
        assert sc.METRIC_TOKEN_USAGE in live.got.metric_names()
        assert b"sk-proj-E2E" not in live.got.all_bytes() and b"Where is order" not in live.got.all_bytes()

        report = export_runs(rec.store, [top], later.endpoint)
        assert report.spans == len(spans) == 11
        assert _keys(later.got.spans()) == _keys(spans)


def test_teamtape_run_with_otlp_sends_an_unmodified_script(tmp_path) -> None:
    user_script = tmp_path / "my_team.py"
    user_script.write_text(
        textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(HERE)!r})
        from teamtape.demo import ScriptedOpenAIServer
        from otlp_teams import TASK, make_team, script

        async def main():
            with ScriptedOpenAIServer(script()) as server:
                team = await make_team(server)
                await team.run(task=TASK)
            sys.exit(3)

        asyncio.run(main())
    """)
    )
    teamtape_bin = str(Path(sys.executable).with_name("teamtape"))
    with HttpReceiver() as receiver:
        proc = subprocess.run(
            [
                teamtape_bin,
                "run",
                "--store",
                str(tmp_path / "store"),
                "--otlp",
                receiver.endpoint,
                str(user_script),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 3, proc.stderr
        names = sorted(s.name for s in receiver.got.spans())
    assert names.count("invoke_workflow RoundRobinGroupChat") == 1 and names.count("chat gpt-4o-mini") == 3
    assert "OtlpExportWarning" not in proc.stderr


AUTOGEN_SPANS = textwrap.dedent("""
    import asyncio, json, os, sys
    sys.path.insert(0, {here!r})
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_agentchat.conditions import MaxMessageTermination
    from teamtape.demo import ScriptedOpenAIServer
    from teamtape.recorder.otlp import linked_to_run

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the user's own global provider: AutoGen emits its spans there

    async def main():
        with ScriptedOpenAIServer(["Hello."]) as server:
            agent = AssistantAgent("assistant", model_client=server.client())
            team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
            with linked_to_run("feedfacefeedface"):
                await team.run(task="hi")
        print(json.dumps([[s.name, s.context.trace_id, s.parent.span_id if s.parent else None]
                          for s in exporter.get_finished_spans()]))

    asyncio.run(main())
""")


@pytest.mark.parametrize("runtime_tracing", [True, False])
def test_autogen_spans_nest_under_teamtapes_run_when_linked(tmp_path, runtime_tracing) -> None:
    script_path = tmp_path / "spans.py"
    script_path.write_text(AUTOGEN_SPANS.format(here=str(HERE)))
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    if not runtime_tracing:
        env["AUTOGEN_DISABLE_RUNTIME_TRACING"] = "true"
    proc = subprocess.run(
        [sys.executable, str(script_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    import json

    spans = json.loads(proc.stdout.strip().splitlines()[-1])
    names = [name for name, _, _ in spans]
    assert "invoke_agent assistant" in names
    during_run = [(name, trace_id) for name, trace_id, _ in spans if not name.startswith("create_agent")]
    assert {trace_id for _, trace_id in during_run} == {trace_id_for("feedfacefeedface")}
    top_level = [name for name, _, parent in spans if parent == run_span_id("feedfacefeedface")]
    assert top_level  # AutoGen's outermost spans hang under teamtape's invoke_workflow span
    runtime = [n for n in names if n.startswith("autogen ")]
    assert bool(runtime) is runtime_tracing
