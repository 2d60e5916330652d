"""Scenario ``swarm_support``: the handbook's Swarm customer-support team with a human handoff.

Run 1 ("I want a refund for flight FL-1234."): triage_agent hands off to flights_refunder, which asks
the customer to confirm by handing off to ``user`` - the run stops on ``HandoffTermination``.
Run 2 resumes the same team with ``HandoffMessage(source="user", target="flights_refunder", ...)``:
flights_refunder calls ``refund_flight``, reports back and hands off to triage_agent, which closes
the conversation with TERMINATE.
"""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import HandoffTermination, TextMentionTermination
from autogen_agentchat.messages import HandoffMessage
from autogen_agentchat.teams import Swarm

from teamtape.demo.context import API_KEY, ScenarioContext
from teamtape.demo.script import Script
from teamtape.demo.server import Reply, ToolCall

__all__ = ["FIRST_TASK", "RESUME_TEXT", "build_script", "swarm_support"]

FIRST_TASK = "I want a refund for flight FL-1234."
RESUME_TEXT = "Yes, please refund FL-1234."

TRIAGE_PROMPT = """You are a customer support triage agent.
Route flight refund requests to 'flights_refunder'.
Route all other questions to 'general_support'.
Transfer immediately — do not answer questions yourself."""

REFUNDER_PROMPT = """You handle flight refunds.
Use the refund_flight tool to process refunds.
If you need more information, ask the user by handing off to 'user'.
When done, hand off back to 'triage_agent'."""

GENERAL_PROMPT = """You handle general customer support questions.
Answer questions directly or hand off to 'user' if you need input.
When done, hand off back to 'triage_agent'."""


def build_script() -> Script:
    """Return the script: one route per agent, matched on its system prompt."""
    script = Script()
    script.route("triage_agent", system_contains="customer support triage agent").then(
        # run 1: route the refund request
        Reply(tool_calls=[ToolCall("transfer_to_flights_refunder", {})], delay_s=0.02),
        # run 2: close the conversation after the refund
        Reply(
            content=(
                "Your refund for flight FL-1234 has been processed; you'll see it on your original "
                "payment method within 5-7 business days. Thanks for flying with us! TERMINATE"
            ),
            prompt_tokens=1412,
            cached_tokens=1280,
            delay_s=0.02,
        ),
    )
    script.route("flights_refunder", system_contains="You handle flight refunds").then(
        # run 1: ask the customer to confirm (text + handoff to the user)
        Reply(
            content=(
                "I can help with that. Before I refund flight FL-1234 in full to your original payment "
                "method, can you confirm that you want to cancel this booking?"
            ),
            tool_calls=[ToolCall("transfer_to_user", {})],
            delay_s=0.03,
        ),
        # run 2: the customer confirmed - call the refund tool
        Reply(
            tool_calls=[ToolCall("refund_flight", {"flight_id": "FL-1234"})],
            prompt_tokens=1268,
            cached_tokens=1152,
            delay_s=0.02,
        ),
        # run 2: report and hand back to triage
        Reply(
            content="The refund for flight FL-1234 went through. Handing you back to triage.",
            tool_calls=[ToolCall("transfer_to_triage_agent", {})],
            prompt_tokens=1351,
            cached_tokens=1152,
            delay_s=0.02,
        ),
    )
    script.route("general_support", system_contains="general customer support questions")
    return script


async def swarm_support(ctx: ScenarioContext) -> None:
    """Run the Swarm support team twice: until the handoff to the user, then resumed to TERMINATE.

    Args:
        ctx: Collects the two ``TaskResult`` objects and the ``refund_flight`` invocations
            (``ctx.notes["refunds"]``).
    """
    refunds: list[str] = ctx.notes.setdefault("refunds", [])

    async def refund_flight(flight_id: str) -> str:
        """Process a flight refund for the given flight ID."""
        refunds.append(flight_id)
        return f"Refund processed for flight {flight_id}."

    with ctx.server(build_script()) as server:
        model_client = server.client("gpt-4o", api_key=API_KEY)
        try:
            triage_agent = AssistantAgent(
                name="triage_agent",
                model_client=model_client,
                handoffs=["flights_refunder", "general_support"],
                system_message=TRIAGE_PROMPT,
            )
            flights_refunder = AssistantAgent(
                name="flights_refunder",
                model_client=model_client,
                tools=[refund_flight],
                handoffs=["triage_agent", "user"],
                system_message=REFUNDER_PROMPT,
            )
            general_support = AssistantAgent(
                name="general_support",
                model_client=model_client,
                handoffs=["triage_agent", "user"],
                system_message=GENERAL_PROMPT,
            )
            termination = HandoffTermination(target="user") | TextMentionTermination("TERMINATE")
            team = Swarm([triage_agent, flights_refunder, general_support], termination_condition=termination)

            result = await team.run(task=FIRST_TASK)
            ctx.results.append(result)
            if "handoff" in (result.stop_reason or "").lower():
                result = await team.run(
                    task=HandoffMessage(source="user", target="flights_refunder", content=RESUME_TEXT)
                )
                ctx.results.append(result)
        finally:
            await model_client.close()
