"""Scenario ``failing_tool_run``: a run that goes wrong, so the demo store has something to debug.

A sales_analyst calls ``fetch_sales_report`` with a quarter that does not exist (the tool raises and
the error goes back to the model), retries with a valid quarter, and then the provider fails: three
HTTP 500 answers - the openai SDK retries twice on its own - surface as ``InternalServerError``. The
scenario catches the exception (kept in ``ctx.errors``) so the demo goes on.
"""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat

from teamtape.demo.context import API_KEY, ScenarioContext
from teamtape.demo.server import Reply, ToolCall

__all__ = ["PROVIDER_ERROR", "TASK", "build_replies", "failing_tool_run", "fetch_sales_report"]

TASK = "Summarize last quarter's sales for the EMEA region and flag any anomalies."

ANALYST_PROMPT = """You are a sales analyst. Use the fetch_sales_report tool to get the numbers,
then summarize them for an executive audience. When you are done, say TERMINATE."""

PROVIDER_ERROR = (
    "The server had an error while processing your request. Sorry about that! You can retry your request, "
    "or contact us through our help center at help.openai.com if the error persists. "
    "(Please include the request ID req_7f3a9c2e81d64b0f in your message.)"
)

_REPORTS = {
    "2024-Q4": "EMEA 2024-Q4: revenue $48.2M (+6% QoQ), 1,204 deals, refunds $3.9M (2.1x the Q3 level).",
}


def fetch_sales_report(quarter: str, region: str = "EMEA") -> str:
    """Fetch the sales report of a region for a quarter such as 2024-Q3."""
    report = _REPORTS.get(quarter)
    if report is None or region != "EMEA":
        raise ValueError(f"unknown quarter {quarter!r}; reports exist for 2024-Q1 .. 2024-Q4")
    return report


def build_replies() -> list[Reply]:
    """Return the scripted replies, in order (a single agent needs no routing)."""
    server_error = Reply(error_status=500, error_message=PROVIDER_ERROR, should_retry=True, retry_after_ms=15)
    return [
        Reply(
            tool_calls=[ToolCall("fetch_sales_report", {"quarter": "2025-Q5", "region": "EMEA"})],
            delay_s=0.03,
        ),
        Reply(
            content="That quarter does not exist; last quarter was 2024-Q4.",
            tool_calls=[ToolCall("fetch_sales_report", {"quarter": "2024-Q4", "region": "EMEA"})],
            delay_s=0.03,
        ),
        server_error,
        server_error,
        server_error,
    ]


async def failing_tool_run(ctx: ScenarioContext) -> None:
    """Run the analyst until the provider error; the exception is caught and kept in ``ctx.errors``.

    Args:
        ctx: Collects the caught exception.
    """
    with ctx.server(build_replies()) as server:
        model_client = server.client("gpt-4o-mini", api_key=API_KEY)
        try:
            analyst = AssistantAgent(
                name="sales_analyst",
                model_client=model_client,
                tools=[fetch_sales_report],
                max_tool_iterations=3,
                reflect_on_tool_use=True,
                system_message=ANALYST_PROMPT,
            )
            termination = TextMentionTermination("TERMINATE") | MaxMessageTermination(10)
            team = RoundRobinGroupChat([analyst], termination_condition=termination)
            try:
                ctx.results.append(await team.run(task=TASK))
            except Exception as exc:  # the scripted provider failure
                ctx.errors.append(exc)
        finally:
            await model_client.close()
