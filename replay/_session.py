"""A replay session: one recording being served, with what has been consumed and what went live.

The session decides, for each model request, tool call, memory query and code execution, whether
the recorded outcome is served or the real thing runs, following the record mode, the fork point
and ``execute_tools``. It does not know how it is attached to autogen (see ``_interceptor`` and
``_client``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from teamtape.store.requests import resolve_request_messages

from ._errors import ReplayError, ReplayMismatchError
from ._matchers import DEFAULT_MATCHERS, CallBook, Matcher, RecordedCall, differing_parts, request_diff
from ._modes import RecordMode
from ._normalize import MessageKey, NormalizedRequest, recorded_request
from ._serve import create_result, stream_chunks
from ._tape import Tape

RERECORD_HINT = (
    "If the change is intended, re-record: record mode `all` (or `new_episodes` to keep what still matches)."
)


@dataclass
class ReplayStats:
    """What a session served and what ran for real."""

    model_served: int = 0
    model_live: int = 0
    tools_served: int = 0
    tools_executed: int = 0
    memory_served: int = 0
    code_served: int = 0
    mismatches: list[ReplayMismatchError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_served": self.model_served,
            "model_live": self.model_live,
            "tools_served": self.tools_served,
            "tools_executed": self.tools_executed,
            "memory_served": self.memory_served,
            "code_served": self.code_served,
            "mismatches": len(self.mismatches),
        }


def recorded_calls(tape: Tape, *, stopped: list[RecordedCall] | None = None) -> list[RecordedCall]:
    """Every ``llm_call`` of a tape that can be served, in time order, normalized for matching.

    Calls whose caller stopped reading the stream before the answer was whole have nothing to serve;
    they go to ``stopped`` (when given), so a request for one of them can be told why it is not served.
    """
    cache: dict[str, MessageKey] = {}
    prefixes: dict[Any, Any] = {}
    counts: Counter[str | None] = Counter()
    full: dict[tuple[str, str], list[Any]] = {}
    for run in tape.runs:
        llm = [e for e in run.events if e.kind == "llm_call" and isinstance(e.payload.get("request"), dict)]
        resolved = resolve_request_messages(
            (str(e.payload.get("call_id")), e.payload["request"]) for e in llm
        )
        full.update(((run.run_id, call_id), refs) for call_id, refs in resolved.items())
    calls = []
    for i, event in enumerate(tape.events("llm_call")):
        answered = event.payload.get("response") or event.payload.get("error")
        if not answered and not event.payload.get("stopped_reading"):
            raise ReplayError(
                f"Model call {event.payload.get('call_id') or i + 1} of agent '{event.agent}' in {tape.origin} "
                "has neither an answer nor an error, which no recording leaves: the tape was edited or "
                "damaged. Restore it, or record the team again."
            )
        refs = full.get((event.run_id, str(event.payload.get("call_id"))))
        request = recorded_request(event.payload, tape.blob_data, cache, event.agent, refs, prefixes)
        if not answered:  # a stream let go half-read: nothing to serve
            if stopped is not None:
                stopped.append(RecordedCall(i, event.run_id, event.agent, 0, event.payload, request))
            continue
        counts[event.agent] += 1
        calls.append(RecordedCall(i, event.run_id, event.agent, counts[event.agent], event.payload, request))
    return calls


class _Queue:
    """Recorded outcomes of one kind, keyed (agent, name), served once each in order."""

    def __init__(self) -> None:
        self.items: dict[tuple[str | None, str | None], list[list[Any]]] = {}

    def add(self, key: tuple[str | None, str | None], payload: dict[str, Any]) -> None:
        self.items.setdefault(key, []).append([False, payload])

    def take(
        self, key: tuple[str | None, str | None], accept: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any] | None:
        for item in self.items.get(key, ()):
            if not item[0] and accept(item[1]):
                item[0] = True
                return item[1]
        return None

    def candidates(self, key: tuple[str | None, str | None]) -> list[dict[str, Any]]:
        return [p for used, p in self.items.get(key, ()) if not used] or [
            p for _, p in self.items.get(key, ())
        ]


class ReplaySession:
    """Serves one recording.

    Args:
        tape: the recording (None: nothing recorded yet, only live calls are possible).
        mode: the record mode.
        matchers: how model requests are matched (default: the full fingerprint).
        execute_tools: run real tools, memory queries and code instead of serving their results.
        fork_at: serve the first ``fork_at - 1`` model calls from the recording by position, whatever
            they ask, then go live from call ``fork_at`` on (tools too).
        rerecord_hint: how to re-record, said after a request the recording does not hold (the pytest
            plugin names its own option).
    """

    def __init__(
        self,
        tape: Tape | None,
        *,
        mode: RecordMode | str = RecordMode.NONE,
        matchers: Sequence[Matcher] = DEFAULT_MATCHERS,
        execute_tools: bool = False,
        fork_at: int | None = None,
        rerecord_hint: str = RERECORD_HINT,
    ) -> None:
        if tape is not None:
            tape.require_content()
        self.rerecord_hint = rerecord_hint
        self.tape = tape
        self.mode = RecordMode.parse(mode)
        if self.mode is RecordMode.ONCE:
            self.mode = RecordMode.NONE if tape is not None else RecordMode.ALL
        if fork_at is not None and fork_at < 1:
            raise ReplayError(f"--fork-at counts model calls from 1; got {fork_at}.")
        self.execute_tools = execute_tools
        self.fork_at = fork_at
        self.stopped: list[RecordedCall] = []
        """Recorded calls with nothing to serve (their caller stopped reading the stream)."""
        self.book = CallBook(recorded_calls(tape, stopped=self.stopped) if tape else [], matchers)
        self.tools, self.memory, self.code = _Queue(), _Queue(), _Queue()
        if tape is not None:
            self._index_side_effects(tape)
        self.stats = ReplayStats()
        self.live_phase = self.mode is RecordMode.ALL
        self._model_calls = 0
        self._agent_calls: Counter[str | None] = Counter()

    @property
    def label(self) -> str:
        return self.tape.origin if self.tape is not None else "no recording"

    @property
    def run_id(self) -> str | None:
        return self.tape.root_run_id if self.tape is not None else None

    def _index_side_effects(self, tape: Tape) -> None:
        for event in tape.events("tool_call"):
            self.tools.add((event.agent, event.payload.get("tool")), event.payload)
        for event in tape.events("memory_query"):
            self.memory.add((event.agent, event.payload.get("memory")), event.payload)
        for run in tape.runs:
            for event in run.of_kind("message"):
                if event.payload.get("type") in ("CodeExecutionEvent", "TextMessage"):
                    self.code.add((event.agent, event.payload.get("type")), event.payload)

    # -- model calls ---------------------------------------------------------------------------------
    def resolve(self, request: NormalizedRequest) -> RecordedCall | None:
        """The recorded call to serve for ``request``, or None to call the real model."""
        self._model_calls += 1
        self._agent_calls[request.agent] += 1
        if self.mode is RecordMode.ALL:
            return None
        if self.fork_at is not None:
            if self._model_calls < self.fork_at:
                call = self.book.next_of(request.agent)
                if call is not None:
                    return call
            self.live_phase = True
            return None
        call = self.book.take(request)
        if call is not None or self.mode is RecordMode.NEW_EPISODES:
            return call
        error = self.mismatch(request, self._agent_calls[request.agent])
        self.stats.mismatches.append(error)
        raise error

    def _agent_hint(self, agent: str | None, call_index: int) -> list[str]:
        """Why an agent's call may have no match: the recording has no such agent, or fewer of its calls."""
        if not agent:
            return []
        recorded = sum(1 for call in self.book.calls if call.agent == agent)
        if recorded == 0:
            others = sorted({str(call.agent) for call in self.book.calls if call.agent})
            return [
                f"The recording has no model call by '{agent}' (its calls are by {', '.join(others) or 'no agent'}): "
                "the team has an agent the recorded run did not have, or one was renamed."
            ]
        if call_index > recorded:
            return [
                f"The recording holds {recorded} call(s) by '{agent}': this replay went further than the recorded run "
                "(a higher max_turns, a termination that no longer fires, another speaking order)."
            ]
        return []

    def mismatch(self, request: NormalizedRequest, call_index: int) -> ReplayMismatchError:
        """The error for a request the recording does not hold, with the closest recorded ones."""
        who = f"agent '{request.agent}'" if request.agent else "an unknown agent"
        lines = [
            f"No recorded model call matches call {call_index} of {who} (replaying {self.label}).",
        ]
        lines += self._agent_hint(request.agent, call_index)
        if any(call.request.fingerprint == request.fingerprint for call in self.stopped):
            lines.append(
                "The recording holds this request, but its caller stopped reading the answer's stream before "
                "it was whole, so there is no answer to serve: record it again reading the stream to the end."
            )
        closest = self.book.closest(request)
        diff = ""
        if closest:
            best = closest[0]
            parts = differing_parts(request, best.request) or ["nothing the matchers compare"]
            lines.append(f"Closest recorded request: {best.describe()}; what changed: {', '.join(parts)}.")
            if len(closest) > 1:
                lines.append("Other close recorded requests:")
                for other in closest[1:]:
                    changed = ", ".join(differing_parts(request, other.request)) or "-"
                    lines.append(f"  - {other.describe()} (differs in: {changed})")
            diff = request_diff(best.request, request, f"recorded ({best.describe()})")
            lines.append("Diff (recorded -> this replay):")
            lines.append(diff)
        else:
            lines.append("The recording holds no model calls at all.")
        lines.append(self.rerecord_hint)
        return ReplayMismatchError(
            "\n".join(lines),
            run_id=self.run_id,
            agent=request.agent,
            call_index=call_index,
            kind="model",
            diff=diff,
        )

    async def create(self, request: NormalizedRequest, live: Callable[[], Awaitable[Any]] | None) -> Any:
        """Serve or perform one ``create`` call."""
        call = self.resolve(request)
        if call is not None:
            self.stats.model_served += 1
            return create_result(call.payload)
        self.stats.model_live += 1
        return await self._require_live(live, request)()

    async def create_stream(
        self, request: NormalizedRequest, live: Callable[[], AsyncGenerator[Any, None]] | None
    ) -> AsyncGenerator[Any, None]:
        """Serve or perform one ``create_stream`` call: the recorded chunks, then the result."""
        call = self.resolve(request)
        if call is not None:
            self.stats.model_served += 1
            for chunk in stream_chunks(call.payload):
                yield chunk
            yield create_result(call.payload)
            return
        self.stats.model_live += 1
        async for item in self._require_live(live, request)():
            yield item

    def _require_live(
        self, live: Callable[..., Any] | None, request: NormalizedRequest
    ) -> Callable[..., Any]:
        if live is None:
            raise ReplayError(
                f"Record mode '{self.mode.value}' needs a real model for a call of agent '{request.agent}', but this "
                "replay client has none: give ReplayChatCompletionClient a real_client, or use record mode `none`."
            )
        return live

    # -- tools, memory, code ------------------------------------------------------------------------------
    def serves_side_effects(self) -> bool:
        """Whether tool/memory/code outcomes come from the recording right now."""
        return not self.execute_tools and self.mode is not RecordMode.ALL and not self.live_phase

    def may_run_live(self) -> bool:
        return self.execute_tools or self.live_phase or self.mode.allows_live

    def take_tool(self, agent: str | None, tool: str, arguments: Any) -> dict[str, Any] | None:
        payload = self.tools.take((agent, tool), lambda p: p.get("arguments") == arguments)
        if payload is not None:
            self.stats.tools_served += 1
        return payload

    def tool_mismatch(self, agent: str | None, tool: str, arguments: Any) -> ReplayMismatchError:
        recorded = self.tools.candidates((agent, tool))
        lines = [
            f"The recording ({self.label}) holds no call of tool '{tool}' by agent '{agent}' with these arguments:",
            "  " + json.dumps(arguments, ensure_ascii=False, sort_keys=True),
        ]
        if recorded:
            lines.append("Recorded calls of that tool by that agent:")
            lines.extend(
                "  " + json.dumps(p.get("arguments"), ensure_ascii=False, sort_keys=True)
                for p in recorded[:3]
            )
        else:
            lines.append("That agent never called that tool in the recording.")
        lines.append("Run real tools with --execute-tools (or execute_tools=True). " + self.rerecord_hint)
        error = ReplayMismatchError(
            "\n".join(lines), run_id=self.run_id, agent=agent, call_index=0, kind="tool", diff=""
        )
        self.stats.mismatches.append(error)
        return error

    def take_memory(self, agent: str | None, memory: str) -> dict[str, Any] | None:
        payload = self.memory.take((agent, memory))
        if payload is not None:
            self.stats.memory_served += 1
        return payload

    def side_effect_missing(self, what: str, agent: str | None) -> ReplayMismatchError:
        error = ReplayMismatchError(
            f"The recording ({self.label}) holds no more {what} for agent '{agent}'. "
            "Run the real thing with --execute-tools (or execute_tools=True). " + self.rerecord_hint,
            run_id=self.run_id,
            agent=agent,
            call_index=0,
            kind=what,
            diff="",
        )
        self.stats.mismatches.append(error)
        return error

    def take_code(self, agent: str | None, *, with_model: bool) -> dict[str, Any] | None:
        payload = self.code.take((agent, "CodeExecutionEvent" if with_model else "TextMessage"))
        if payload is not None:
            self.stats.code_served += 1
        return payload
