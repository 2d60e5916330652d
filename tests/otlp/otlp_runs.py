"""Events of synthetic runs, written the way the recorder writes them (see teamtape.store.events)."""

from __future__ import annotations

from typing import Any

from teamtape.store import Event, Store

T0 = 1_732_370_400.0
SECRET = "sk-proj-PLANTEDsecretVALUE1234567890"
"""Looks like an OpenAI key: the default redaction patterns must catch it everywhere."""


class RunScript:
    """Builds the events of one run; times are seconds after ``t0``."""

    def __init__(
        self,
        run_id: str,
        *,
        t0: float = T0,
        team_type: str = "Swarm",
        team_name: str | None = "support",
        parent_run_id: str | None = None,
        parent_tool_call_id: str | None = None,
        session_id: str = "session-1",
        labels: dict[str, str] | None = None,
        task: str = "I want a refund for order 4711.",
        participants: tuple[str, ...] = ("triage", "billing"),
    ) -> None:
        self.run_id, self.t0 = run_id, t0
        self.events: list[Event] = []
        config = (
            {"provider": f"autogen_agentchat.teams.{team_type}", "config": {"name": team_name}}
            if team_name
            else None
        )
        self._add(
            "run_started",
            0.0,
            None,
            name="nightly",
            team_type=team_type,
            task=task,
            task_messages=[{"type": "TextMessage", "source": "user", "content": task, "text": task}],
            participants=list(participants),
            config=config,
            session_id=session_id,
            parent_run_id=parent_run_id,
            labels=labels or {},
            pid=1,
            host="test",
            **({"parent_tool_call_id": parent_tool_call_id} if parent_tool_call_id else {}),
        )

    def _add(self, event_kind: str, at: float, agent: str | None, /, **payload: Any) -> Event:
        event = Event(
            f"{self.run_id}-{len(self.events):04d}",
            self.run_id,
            len(self.events),
            self.t0 + at,
            event_kind,
            agent,
            payload,
        )
        self.events.append(event)
        return event

    def blob(
        self, at: float, digest: str, data: Any, media_type: str = "application/vnd.autogen.llm-message+json"
    ) -> dict[str, str]:
        self._add("blob", at, None, hash=digest, media_type=media_type, data=data)
        return {"$blob": digest}

    def llm(
        self,
        agent: str | None,
        start: float,
        ms: float,
        *,
        model: str = "gpt-4o-mini",
        provider: str = "openai",
        messages: list[dict[str, str]] | None = None,
        content: Any = "Sure.",
        finish_reason: str = "stop",
        input_tokens: int | None = 100,
        output_tokens: int | None = 20,
        cache_read_tokens: int = 0,
        error: dict[str, Any] | None = None,
        tools: dict[str, str] | None = None,
        extra_args: dict[str, Any] | None = None,
        retries: list[dict[str, Any]] | None = None,
    ) -> Event:
        request: dict[str, Any] = {
            "messages": messages or [],
            "tool_choice": "auto",
            "json_output": None,
            "extra_args": extra_args or {},
        }
        if tools:
            request["tools"] = tools
        response = (
            None
            if error
            else {
                "content": content,
                "thought": None,
                "finish_reason": finish_reason,
                "cached": False,
                "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens},
            }
        )
        payload: dict[str, Any] = dict(
            call_id=f"{self.run_id}-{len(self.events)}",
            model=model,
            response_model=f"{model}-2024-07-18",
            provider=provider,
            client="OpenAIChatCompletionClient",
            started_ts=self.t0 + start,
            duration_ms=ms,
            streamed=False,
            cached=False,
            request=request,
            response=response,
            usage={
                "input_tokens": None if error else input_tokens,
                "output_tokens": None if error else output_tokens,
                "cache_read_tokens": cache_read_tokens,
            },
            raw={"type": "LLMCall", "response_id": None if error else f"chatcmpl-{len(self.events)}"},
        )
        if retries:
            payload["retries"] = retries
        if error:
            payload["error"] = error
        return self._add("llm_call", start + ms / 1000 + 0.0005, agent, **payload)

    def tool(
        self,
        agent: str,
        start: float,
        ms: float,
        tool: str,
        call_id: str,
        arguments: Any,
        result: Any,
        *,
        kind: str = "function",
        is_error: bool = False,
        child_run_id: str | None = None,
    ) -> Event:
        return self._add(
            "tool_call",
            start + ms / 1000 + 0.0005,
            agent,
            call_id=call_id,
            tool=tool,
            kind=kind,
            arguments=arguments,
            result=result,
            is_error=is_error,
            started_ts=self.t0 + start,
            duration_ms=ms,
            child_run_id=child_run_id,
        )

    def memory(
        self, agent: str, start: float, ms: float, memory: str, query: str, results: list[Any]
    ) -> Event:
        return self._add(
            "memory_query",
            start + ms / 1000 + 0.0005,
            agent,
            memory=memory,
            memory_type="ListMemory",
            query=query,
            results=results,
            n_results=len(results),
            started_ts=self.t0 + start,
            duration_ms=ms,
        )

    def turn(
        self, agent: str, start: float, ms: float, turn_id: str, error: dict[str, Any] | None = None
    ) -> Event:
        payload: dict[str, Any] = {"turn_id": turn_id, "started_ts": self.t0 + start, "duration_ms": ms}
        if error:
            payload["error"] = error
        return self._add("agent_turn", start + ms / 1000 + 0.0005, agent, **payload)

    def message(self, at: float, source: str, text: str, type_: str = "TextMessage", **fields: Any) -> Event:
        return self._add("message", at, source, type=type_, source=source, content=text, text=text, **fields)

    def speaker(self, at: float, selected: str, selector: str = "SwarmGroupChatManager") -> Event:
        return self._add(
            "speaker_selection", at, "swarm", selector=selector, selected=[selected], duration_ms=0.2
        )

    def ended(
        self,
        at: float,
        status: str = "ok",
        stop_reason: str | None = "Handoff to user from billing detected.",
        error: dict[str, Any] | None = None,
    ) -> Event:
        payload: dict[str, Any] = {"status": status, "stop_reason": stop_reason, "duration_ms": at * 1000}
        if error:
            payload["error"] = error
        return self._add("run_ended", at, None, **payload)

    def crashed(self, at: float, alive: float | None = None) -> Event:
        """The store's crash event, noticed ``at``; ``alive``: when the process was last known alive."""
        extra = {"last_alive_ts": self.t0 + alive} if alive is not None else {}
        return self._add("run_crashed", at, None, reason="the recording process died", **extra)


def support_run(run_id: str = "a1a1a1a1a1a1a1a1", child_id: str = "c2c2c2c2c2c2c2c2") -> list[Event]:
    """A Swarm run with turns, model/tool/memory calls, a handoff, a failing call and a nested AgentTool run.

    Events come in the order the recorder emits them: a call before the turn that contains it, and the
    nested run's events before the tool call that started it.
    """
    r = RunScript(run_id, labels={"env": "ci"}, task=f"Refund order 4711. My key is {SECRET}")
    system = r.blob(0.01, "h-system", {"type": "SystemMessage", "content": "You are triage."})
    user = r.blob(
        0.01, "h-user", {"type": "UserMessage", "source": "user", "content": f"Refund order 4711. {SECRET}"}
    )
    tools = r.blob(
        0.01,
        "h-tools",
        [{"name": "lookup_order", "parameters": {"type": "object"}}],
        "application/vnd.autogen.tools+json",
    )
    r.speaker(0.02, "triage")
    r.memory(
        "triage",
        0.10,
        5,
        "policies",
        "refund policy",
        [{"content": "Refunds within 30 days.", "mime_type": "text/plain", "metadata": {"id": 7}}],
    )
    r.llm(
        "triage",
        0.12,
        300,
        messages=[system, user],
        tools=tools,
        finish_reason="function_calls",
        content=[{"id": "call_1", "arguments": '{"order": 4711}', "name": "lookup_order"}],
        input_tokens=130,
        output_tokens=12,
        cache_read_tokens=64,
        extra_args={"temperature": 0.2},
    )
    r.tool(
        "triage",
        0.43,
        20,
        "lookup_order",
        "call_1",
        {"order": 4711, "note": SECRET},
        "order 4711: paid, 30 EUR",
    )
    r.llm(
        "triage",
        0.46,
        200,
        messages=[system, user],
        content="Handing over to billing.",
        input_tokens=160,
        output_tokens=8,
    )
    r.turn("triage", 0.05, 640, "turn-t1")
    r.message(0.70, "triage", "Transferred to billing.", "HandoffMessage", target="billing")
    r.speaker(0.71, "billing")
    # billing asks a researcher (AgentTool): a nested run, finished before the tool call event
    c = RunScript(
        child_id,
        t0=r.t0 + 0.80,
        team_type="AssistantAgent",
        team_name="researcher",
        parent_run_id=run_id,
        parent_tool_call_id="call_2",
        session_id="session-2",
        participants=("researcher",),
        task="Is order 4711 refundable?",
    )
    c.llm(
        "researcher",
        0.01,
        100,
        model="claude-3-5-sonnet-20241022",
        provider="anthropic",
        content="Yes.",
        input_tokens=50,
        output_tokens=3,
    )
    c.turn("researcher", 0.0, 120, "turn-r1")
    c.ended(0.13, stop_reason=None)
    r.llm(
        "billing",
        0.72,
        50,
        content=[{"id": "call_2", "arguments": '{"task": "refundable?"}', "name": "researcher"}],
        finish_reason="function_calls",
        input_tokens=90,
        output_tokens=9,
    )
    r.events.extend(c.events)
    r.tool(
        "billing",
        0.78,
        160,
        "researcher",
        "call_2",
        {"task": "refundable?"},
        "Yes.",
        kind="agent",
        child_run_id=child_id,
    )
    r.llm(
        "billing",
        0.95,
        30,
        model="my-finetune-v3",
        provider="openai",
        content="Refund issued.",
        input_tokens=70,
        output_tokens=4,
    )
    r.llm(
        "billing",
        0.99,
        15,
        error={"type": "RateLimitError", "message": "Rate limit reached, retry later"},
        retries=[{"after": "HTTP 429", "wait_ms": 500.0}, {"after": "ConnectTimeout", "wait_ms": 900.0}],
    )
    r.turn(
        "billing", 0.715, 300, "turn-b1", error={"type": "RateLimitError", "message": "Rate limit reached"}
    )
    r.llm(None, 1.02, 10, content="billing", input_tokens=20, output_tokens=1)  # a selector call: no turn
    r.ended(1.05)
    return r.events


def write_events(store: Store, events: list[Event]) -> None:
    writer = store.writer()
    try:
        for event in events:
            writer.append(event)
    finally:
        writer.close()
