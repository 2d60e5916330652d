"""``ReplayChatCompletionClient``: a model client that answers from a recording, by request."""

from __future__ import annotations

import os
import weakref
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from autogen_core import CancellationToken, Component, ComponentModel
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from teamtape.recorder._context import current_agent

from ._errors import ReplayError
from ._interceptor import bypassed, bypassed_stream
from ._modes import RecordMode
from ._normalize import LiveMessageCache, live_request
from ._session import ReplaySession
from ._tape import Tape

DEFAULT_MODEL_INFO: ModelInfo = {
    "vision": True,
    "function_calling": True,
    "json_output": True,
    "structured_output": True,
    "family": "unknown",
    "multiple_system_messages": True,
}

_SESSIONS: weakref.WeakValueDictionary[str, ReplaySession] = weakref.WeakValueDictionary()
"""Sessions shared by several clients of one process (``teamtape replay`` gives every agent one)."""


def share_session(session: ReplaySession) -> str:
    """Register ``session`` so that client configs can name it (``session`` field); returns the key."""
    key = f"session-{id(session):x}"
    _SESSIONS[key] = session
    return key


class ReplayClientConfig(BaseModel):
    """The component config of :class:`ReplayChatCompletionClient`.

    Exactly one source of recorded calls is used: ``session`` (a live session of this process),
    ``tape`` (a tape file), ``store`` + ``run``, or ``inline`` (a tape document).
    """

    tape: str | None = None
    store: str | None = None
    run: str | None = None
    inline: dict[str, Any] | None = None
    session: str | None = None
    record_mode: str = "none"
    model: str | None = None
    model_info: ModelInfo | None = None
    real_client: ComponentModel | None = None
    token_limit: int = 128000


def _load_tape(
    tape: Tape | str | os.PathLike[str] | None, store: str | None, run: str | None, mode: RecordMode
) -> Tape | None:
    from teamtape.store import open_store

    from ._tapefile import read_tape

    if isinstance(tape, Tape):
        return tape
    if tape is not None:
        if not Path(tape).exists() and mode in (RecordMode.ONCE, RecordMode.ALL):
            return None
        return read_tape(tape)
    if run is not None:
        return Tape.from_store(open_store(store), run)
    if mode in (RecordMode.ONCE, RecordMode.ALL):
        return None
    raise ReplayError(
        "ReplayChatCompletionClient needs a recording: a tape (Tape or path), or store= and run=."
    )


def _single_model(tape: Tape | None) -> str | None:
    if tape is None:
        return None
    models = {e.payload.get("model") for e in tape.events("llm_call")}
    return next(iter(models)) if len(models) == 1 else None


class ReplayChatCompletionClient(ChatCompletionClient, Component[ReplayClientConfig]):
    """Answers model calls from a recorded run, matching each request to the recorded one.

    Unlike AutoGen's own ``ReplayChatCompletionClient`` (answers by position, ignores the request),
    each request is matched on its normalized form - messages without volatile ids, tools,
    tool_choice, json_output and model - and a request the recording does not hold raises
    :class:`~teamtape.replay.ReplayMismatchError` with a diff, instead of silently answering.

    Args:
        tape: a :class:`Tape`, or the path of a tape file.
        store: the store holding ``run`` (when no tape is given).
        run: a run id, prefix or ``last`` in ``store``; its whole session is served.
        record_mode: ``none`` (default), ``once``, ``new_episodes`` or ``all``.
        real_client: the client unmatched requests go to in ``new_episodes``/``all`` modes.
        model: the model name this client stands for (default: the recording's, when it used one).
        model_info: capabilities reported to agents (default: everything supported).
        session: share a :class:`ReplaySession` with other clients instead of loading a recording.
        token_limit: the context size ``remaining_tokens`` counts down from.

    Example:
        >>> from teamtape.replay import ReplayChatCompletionClient
        >>> client = ReplayChatCompletionClient("tests/tapes/refund.tape.json")  # doctest: +SKIP
        >>> agent = AssistantAgent("triage_agent", model_client=client)          # doctest: +SKIP
    """

    component_type = "model"
    component_provider_override = "teamtape.replay.ReplayChatCompletionClient"
    component_config_schema = ReplayClientConfig

    def __init__(
        self,
        tape: Tape | str | os.PathLike[str] | None = None,
        *,
        store: str | os.PathLike[str] | None = None,
        run: str | None = None,
        record_mode: RecordMode | str = RecordMode.NONE,
        real_client: ChatCompletionClient | None = None,
        model: str | None = None,
        model_info: ModelInfo | None = None,
        session: ReplaySession | None = None,
        token_limit: int = 128000,
        _inline: dict[str, Any] | None = None,
    ) -> None:
        mode = RecordMode.parse(record_mode)
        self._source = {
            "tape": None if tape is None or isinstance(tape, Tape) else str(tape),
            "store": None if store is None else str(store),
            "run": run,
            "inline": _inline,
        }
        if session is None:
            loaded = _load_tape(tape, self._source["store"], run, mode)
            session = ReplaySession(loaded, mode=mode)
            if isinstance(tape, Tape) and _inline is None:
                self._source["inline_tape"] = tape
        self.session = session
        self._record_mode = mode
        self._real_client = real_client
        self._model = model or _single_model(session.tape)
        self._model_info: ModelInfo = dict(model_info or DEFAULT_MODEL_INFO)  # type: ignore[assignment]
        self._token_limit = token_limit
        self._cache = LiveMessageCache()
        self._actual = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)

    @property
    def model(self) -> str | None:
        """The model name requests are matched with."""
        return self._model

    def _request(self, messages: Sequence[LLMMessage], kwargs: dict[str, Any]) -> Any:
        return live_request(
            messages, kwargs, (), model=self._model, agent=current_agent.get(), cache=self._cache
        )

    def _count(self, result: Any) -> None:
        usage = getattr(result, "usage", None)
        if usage is not None:
            self._actual = RequestUsage(
                prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
            )
            self._total = RequestUsage(
                prompt_tokens=self._total.prompt_tokens + usage.prompt_tokens,
                completion_tokens=self._total.completion_tokens + usage.completion_tokens,
            )

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | str = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        """Serve the recorded answer to this request (or ask the real client, per the record mode)."""
        kwargs = {
            "tools": tools,
            "tool_choice": tool_choice,
            "json_output": json_output,
            "extra_create_args": extra_create_args,
            "cancellation_token": cancellation_token,
        }
        live = None
        if self._real_client is not None:
            real = self._real_client

            def live() -> Any:
                return bypassed(lambda: real.create(messages, **kwargs))  # type: ignore[arg-type]

        result = await self.session.create(self._request(messages, kwargs), live)
        self._count(result)
        return result  # type: ignore[no-any-return]

    async def create_stream(  # type: ignore[override]
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | str = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """Re-emit the recorded chunks, then the recorded ``CreateResult``."""
        kwargs = {
            "tools": tools,
            "tool_choice": tool_choice,
            "json_output": json_output,
            "extra_create_args": extra_create_args,
            "cancellation_token": cancellation_token,
        }
        live = None
        if self._real_client is not None:
            real = self._real_client

            def live() -> Any:
                return bypassed_stream(lambda: real.create_stream(messages, **kwargs))  # type: ignore[arg-type]

        async for item in self.session.create_stream(self._request(messages, kwargs), live):
            if isinstance(item, CreateResult):
                self._count(item)
            yield item

    async def close(self) -> None:
        if self._real_client is not None:
            await self._real_client.close()

    def actual_usage(self) -> RequestUsage:
        return self._actual

    def total_usage(self) -> RequestUsage:
        return self._total

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        """An estimate (4 characters a token) that needs no tokenizer download."""
        chars = sum(len(str(getattr(m, "content", ""))) for m in messages)
        chars += sum(len(str(getattr(t, "schema", t))) for t in tools)
        return chars // 4 + 3 * len(messages)

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return max(0, self._token_limit - self.count_tokens(messages, tools=tools))

    @property
    def capabilities(self) -> Any:  # deprecated in autogen, still abstract
        return self._model_info

    @property
    def model_info(self) -> ModelInfo:
        return self._model_info

    def _to_config(self) -> ReplayClientConfig:
        from ._tapefile import tape_document

        source = dict(self._source)
        inline = source.pop("inline", None)
        tape = source.pop("inline_tape", None)
        if inline is None and tape is not None:
            inline = tape_document(tape)
        shared = next((k for k, s in _SESSIONS.items() if s is self.session), None)
        return ReplayClientConfig(
            tape=source["tape"],
            store=source["store"],
            run=source["run"],
            inline=inline,
            session=shared,
            record_mode=self._record_mode.value,
            model=self._model,
            model_info=self._model_info,
            real_client=self._real_client.dump_component() if self._real_client is not None else None,
            token_limit=self._token_limit,
        )

    @classmethod
    def _from_config(cls, config: ReplayClientConfig) -> Self:
        from ._tapefile import tape_from_document

        session = _SESSIONS.get(config.session) if config.session else None
        tape: Tape | str | None = config.tape
        if session is None and config.inline is not None and tape is None:
            tape = tape_from_document(config.inline, "<inline tape>")
        real = (
            ChatCompletionClient.load_component(config.real_client)
            if config.real_client is not None
            else None
        )
        return cls(
            tape,
            store=config.store,
            run=config.run,
            record_mode=config.record_mode,
            real_client=real,
            model=config.model,
            model_info=config.model_info,
            session=session,
            token_limit=config.token_limit,
            _inline=config.inline,
        )
