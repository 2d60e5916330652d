"""Scenario ``memory_and_agent_tool``: ListMemory, token streaming and an AgentTool.

barista_bot (streaming, ``ListMemory`` seeded with the handbook's two entries, ``parallel_tool_calls
=False``) calls the ``translator`` AgentTool - a streaming sub-agent whose run is nested in the
parent's - and then streams its final answer (``reflect_on_tool_use=True``). Both clients ask for
``stream_options={"include_usage": True}``: AssistantAgent does not, so without it streamed calls
report zero tokens.
"""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_agentchat.tools import AgentTool
from autogen_core.memory import ListMemory, MemoryContent, MemoryMimeType

from teamtape.demo.context import API_KEY, ScenarioContext
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ToolCall

__all__ = ["TASK", "build_script", "memory_and_agent_tool"]

TASK = "Recommend me a drink for this morning, and give me the recommendation in Spanish too."

BARISTA_PROMPT = (
    "You are a helpful barista assistant. Use what you remember about the user. "
    "When the user wants text in another language, use the translator tool."
)
TRANSLATOR_PROMPT = "You are a translator. Translate the given text into the requested language. Reply only with the translation."

RECOMMENDATION = "Try a dark-roast Americano with a splash of oat milk: bold and dairy-free."
SPANISH = "Prueba un americano de tueste oscuro con un chorrito de leche de avena: intenso y sin lácteos."

_STREAM = {"chunk_delay_s": 0.005, "delay_s": 0.02}


def build_script() -> Script:
    """Return the script: the parent agent and the translator sub-agent, matched on system prompts."""
    script = Script()
    script.route("barista_bot", system_contains="barista assistant").then(
        Reply(
            content="You like dark roast and avoid dairy, so:",
            tool_calls=[ToolCall("translator", {"task": f"Translate into Spanish: {RECOMMENDATION}"})],
            **_STREAM,
        ),
        Reply(
            content=f"{RECOMMENDATION}\n\nEn español: {SPANISH}",
            prompt_tokens=1302,
            cached_tokens=1152,
            **_STREAM,
        ),
    )
    script.route("translator", system_contains="You are a translator").then(Reply(content=SPANISH, **_STREAM))
    return script


async def memory_and_agent_tool(ctx: ScenarioContext) -> None:
    """Run the barista team once (user task + final answer = 2 messages).

    Args:
        ctx: Collects the ``TaskResult``.
    """
    user_memory = ListMemory(name="user_preferences")
    await user_memory.add(
        MemoryContent(
            content="User prefers dark-roast coffee and avoids dairy.",
            mime_type=MemoryMimeType.TEXT,
            metadata={"category": "preferences"},
        )
    )
    await user_memory.add(
        MemoryContent(
            content="User's birthday is March 15.",
            mime_type=MemoryMimeType.TEXT,
            metadata={"category": "personal"},
        )
    )
    with ctx.server(build_script()) as server:
        usage = {"stream_options": {"include_usage": True}}
        translator_client = server.client("gpt-4o-mini", api_key=API_KEY, **usage)
        main_client = server.client("gpt-4o-mini", api_key=API_KEY, parallel_tool_calls=False, **usage)
        try:
            translator = AssistantAgent(
                name="translator",
                description="Translates text into another language.",
                model_client=translator_client,
                system_message=TRANSLATOR_PROMPT,
                model_client_stream=True,
            )
            barista_bot = AssistantAgent(
                name="barista_bot",
                model_client=main_client,
                tools=[AgentTool(agent=translator, return_value_as_last_message=True)],
                memory=[user_memory],
                system_message=BARISTA_PROMPT,
                model_client_stream=True,
                reflect_on_tool_use=True,
            )
            team = RoundRobinGroupChat([barista_bot], termination_condition=MaxMessageTermination(2))
            ctx.results.append(await team.run(task=TASK))
        finally:
            await main_client.close()
            await translator_client.close()
            await user_memory.close()
