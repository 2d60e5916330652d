"""Model calls: every ChatCompletionClient's ``create`` and ``create_stream``, at the autogen level.

Wrapping at this level captures any client (OpenAI, Azure, Anthropic, Ollama, replay, cache...)
with the request as the agent built it. A client that wraps another (ChatCompletionCache) is
recorded once, as the outer call; the inner client only tells us the provider.
"""

from __future__ import annotations

import operator
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from ._active import active
from ._context import current_agent, current_llm_call, current_run, next_within
from ._direct import direct_create, direct_stream, start_direct_run
from ._guard import safely
from ._hooks import call_create, call_create_stream
from ._logtap import close_taps, open_taps
from ._run import RunRecorder
from ._serialize import (
    create_result_payload,
    error_payload,
    json_output_form,
    llm_message_ref,
    to_jsonable,
    tool_choice_form,
    tool_schemas,
)

_PROVIDERS = (
    ("AzureOpenAI", "azure"),
    ("AzureAI", "azure"),
    ("Anthropic", "anthropic"),
    ("Bedrock", "aws"),
    ("Ollama", "ollama"),
    ("LlamaCpp", "llama.cpp"),
    ("Replay", "replay"),
    ("OpenAI", "openai"),
    ("SK", "semantic-kernel"),
)


def _wrapped_client(client: Any) -> Any:
    """The client a wrapping client (e.g. ChatCompletionCache's ``client``) delegates to, or None."""
    inner = getattr(client, "client", None)
    if inner is None or inner is client:
        return None
    from autogen_core.models import ChatCompletionClient

    return inner if isinstance(inner, ChatCompletionClient) else None


_provider_by_class: dict[type, str | None] = {}
"""The provider each client class's name says (None: it does not say)."""


def provider_of(client: Any) -> str:
    """A short provider name for a client, looking at its class and (for OpenAI) its base URL.

    A wrapping client (a cache) is named by the client it wraps, so a cache hit, which never
    reaches that client, still shows whose answer it holds.
    """
    cls = type(client)
    try:
        provider = _provider_by_class[cls]
    except KeyError:
        provider = _provider_by_class[cls] = next((p for key, p in _PROVIDERS if key in cls.__name__), None)
    if provider is None:
        inner = _wrapped_client(client)
        return provider_of(inner) if inner is not None else cls.__name__
    if provider == "openai":
        base = str(getattr(getattr(client, "_client", None), "base_url", "") or "")
        if base and "api.openai.com" not in base:
            return "openai-compatible"
    return provider


def model_of(client: Any) -> str | None:
    for attr in ("_create_args", "_raw_config"):
        data = getattr(client, attr, None)
        if isinstance(data, dict) and data.get("model"):
            return str(data["model"])
    for attr in ("model", "_model", "_model_name"):
        value = getattr(client, attr, None)
        if isinstance(value, str) and value:
            return value
    inner = _wrapped_client(client)
    return model_of(inner) if inner is not None else None


def _harvest_secrets(client: Any, run: RunRecorder) -> None:
    """Learn the keys of ``client`` and of the clients it wraps (a cache's) before its call is written."""
    seen: set[int] = set()
    while client is not None and id(client) not in seen:  # wrappers that wrap each other: once each
        seen.add(id(client))
        raw = getattr(client, "_raw_config", None)
        if isinstance(raw, dict):
            run.recorder.redactor.redact_obj(raw)  # remembers the values of api_key & co.
        client = _wrapped_client(client)


def _client_args(client: Any) -> dict[str, Any]:
    """What the client adds to every request (response_format, temperature, ...), the model aside."""
    args = getattr(client, "_create_args", None)
    if not isinstance(args, dict):
        return {}
    return {str(k): to_jsonable(v) for k, v in args.items() if k != "model"}


def _begin(
    client: Any, run: RunRecorder, messages: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    _harvest_secrets(client, run)
    rec = run.recorder
    agent = current_agent.get()
    call_id = run.next_call_id()
    tools = kwargs.get("tools", args[0] if args else None) or []
    extra_args = kwargs.get("extra_create_args")
    model, provider, client_class = model_of(client), provider_of(client), type(client).__name__
    run.hold()  # the request's new blobs and the call's start are written together
    try:
        request: dict[str, Any] = {
            **_message_delta(run, (agent, id(client)), call_id, list(messages or [])),
            "tool_choice": tool_choice_form(kwargs.get("tool_choice", "auto")),
            "json_output": json_output_form(kwargs.get("json_output")),
            "extra_args": rec.redactor.redact_obj(to_jsonable(extra_args)) if extra_args else {},
        }
        if tools:
            request["tools"] = _tools_ref(run, list(tools))
        # The request goes out with the start too: a call that never comes back still shows what it asked.
        started = {
            "call_id": call_id,
            "model": model,
            "provider": provider,
            "client": client_class,
            "request": request,
        }
        run.emit_payload("llm_call_started", agent, started)
    finally:
        run.release()
    client_args = _client_args(client)
    if client_args:
        request["client_args"] = rec.redactor.redact_obj(client_args)
    state = {
        "run": run,
        "call_id": call_id,
        "agent": agent,
        "client": client_class,
        "provider": provider,
        "model": model,
        "request": request,
        "started_ts": time.time(),
        "perf": time.perf_counter(),
        "chunk_offsets": None,
    }
    open_taps()  # last: _end, which closes them, runs for every state returned
    return state


_LAST_TOOLS = ("$last",)  # tools_cache's entry for the previous call's tools (other keys hold reprs or ids)


def _tools_ref(run: RunRecorder, tools: list[Any]) -> dict[str, str]:
    """The offered tools as a blob, computed once per distinct list of tools (schemas are costly).

    AssistantAgent passes fresh ``ToolSchema`` dicts on every call (``workbench.list_tools()``), so
    those are keyed by content (their ``repr``), tool objects by identity (kept alive in the cache so
    an id is never reused while it is a key).
    """
    last = run.tools_cache.get(_LAST_TOOLS)  # the previous call's tools: usually the same again
    if last is not None and len(last[0]) == len(tools) and all(map(_same_tool, tools, last[0])):
        return last[1]
    key = tuple(repr(t) if isinstance(t, dict) else id(t) for t in tools)
    objects = [t for t in tools if not isinstance(t, dict)]
    hit = run.tools_cache.get(key)
    if hit is not None and all(map(operator.is_, hit[0], objects)):
        ref = hit[1]
    else:
        ref = run.blobs.put("application/vnd.autogen.tools+json", tool_schemas(tools))
        run.tools_cache[key] = (objects, ref)
    run.tools_cache[_LAST_TOOLS] = (tools, ref)
    return ref


def _same_tool(a: Any, b: Any) -> bool:
    """The same tool object, or an equal schema (a plain dict; objects may compare equal loosely)."""
    return a is b or (type(a) is dict and type(b) is dict and a == b)


def _message_delta(
    run: RunRecorder, key: tuple[Any, int], call_id: str, messages: list[Any]
) -> dict[str, Any]:
    """The request's messages as a delta on this agent's previous call (see teamtape.store.requests).

    Agents resend their whole context on every call; storing only what is new keeps a long run's
    recording linear in its length instead of quadratic.
    """
    if not run.recorder.capture_content:
        return {"messages": [], "n_messages": len(messages)}
    blobs, cache = run.blobs, run.llm_message_cache
    previous = run.last_requests.get(key)
    run.last_requests[key] = (call_id, messages)
    if previous is not None:
        prev_id, prev_messages = previous
        limit = min(len(prev_messages), len(messages))
        # Usually the context only grew. A list comparison is one pass in C that takes identical items
        # as equal without calling their __eq__ (an equal message that is a new object is equal content).
        if messages[:limit] == (prev_messages if len(prev_messages) == limit else prev_messages[:limit]):
            keep = limit
        else:
            keep = next(i for i, (a, b) in enumerate(zip(messages, prev_messages)) if a is not b)
        if keep:
            new = [llm_message_ref(m, blobs, cache) for m in messages[keep:]]
            return {"base": {"call_id": prev_id, "keep": keep}, "messages": new}
    return {"messages": [llm_message_ref(m, blobs, cache) for m in messages]}


def _cache_read_tokens(raw: dict[str, Any] | None) -> int:
    if not raw:
        return 0
    usage = (raw.get("response") or {}).get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    for value in (details.get("cached_tokens"), usage.get("cache_read_input_tokens")):
        if isinstance(value, int):
            return value
    return 0


def _usage(usage: dict[str, Any], raw: dict[str, Any] | None, *, streamed: bool) -> dict[str, Any]:
    """Token counts; a streamed call that reported 0/0 (no ``include_usage``) is unknown, not free."""
    n_in, n_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if streamed and not n_in and not n_out:
        return {"input_tokens": None, "output_tokens": None, "cache_read_tokens": None, "reported": False}
    return {"input_tokens": n_in, "output_tokens": n_out, "cache_read_tokens": _cache_read_tokens(raw)}


_PROVIDER_DETAILS = ("usage", "system_fingerprint", "service_tier")
"""Kept from a provider's raw response (AutoGen's LLMCallEvent): token details such as cached and
reasoning tokens, and which backend configuration answered."""


def _end(state: dict[str, Any], result: Any = None, error: BaseException | None = None) -> None:
    close_taps()
    run: RunRecorder = state["run"]
    raw = state.get("raw")
    duration = (time.perf_counter() - state["perf"]) * 1000
    response = create_result_payload(result) if result is not None else None
    usage = (response or {}).get("usage") or {}
    raw_response = (raw or {}).get("response") or {}
    payload: dict[str, Any] = {
        "call_id": state["call_id"],
        "model": state["model"] or raw_response.get("model"),
        "response_model": raw_response.get("model"),
        "provider": state.get("inner_provider") or state["provider"],
        "client": state["client"],
        "started_ts": state["started_ts"],
        "duration_ms": duration,
        "streamed": state["chunk_offsets"] is not None,
        "cached": bool(response and response.get("cached")),
        "request": state["request"],
        "response": response,
        "usage": _usage(usage, raw, streamed=state["chunk_offsets"] is not None),
    }
    offsets = state["chunk_offsets"]
    if offsets is not None:
        payload["ttft_ms"] = offsets[0] if offsets else None
        payload["chunks"] = {"n": len(offsets), "offsets_ms": offsets, "sizes": state.get("chunk_sizes", [])}
    if raw:
        payload["raw"] = to_jsonable({k: v for k, v in raw.items() if k != "response"})
        payload["raw"]["response_id"] = raw_response.get("id")
        # What the provider said beyond the CreateResult (its choices are the response above).
        for key in _PROVIDER_DETAILS:
            if raw_response.get(key) is not None and "choices" in raw_response:
                payload["raw"][key] = to_jsonable(raw_response[key])
    if result is None and error is None and state.get("stopped_reading"):
        payload["stopped_reading"] = True  # no answer, and no error either: the caller let the stream go
    if "retries" in state:  # the provider's SDK tried again (see _retries)
        payload["retries"] = state["retries"]
    if error is not None:
        payload["error"] = error_payload(error)
    run.emit_payload("llm_call", state["agent"], payload)
    # The tasks the client started for this call keep their context (and so this state) for as long
    # as the run's CancellationToken lives: leave them an empty dict, not the request and response.
    state.clear()


def _note_inner(client: Any) -> None:
    outer = current_llm_call.get()
    if outer:
        outer["inner_provider"] = provider_of(client)
        outer["model"] = outer["model"] or model_of(client)


def wrap_create(original: Callable[..., Any]) -> Callable[..., Any]:
    async def create(self: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
        run = current_run.get()
        if run is None:  # a call made outside any run (a script's own): a run of its own while recording
            direct = safely("the start of a run", start_direct_run, self, messages)
            if direct is not None:
                return await direct_create(create, self, messages, direct, *args, **kwargs)
        if run is None or current_llm_call.get():  # {}: a finished call's note
            if run is not None:
                safely("a model call", _note_inner, self)
            return await call_create(original, self, messages, args, kwargs)
        state = safely("a model call", _begin, self, run, messages, args, kwargs)
        if state is None:
            return await call_create(original, self, messages, args, kwargs)
        token = current_llm_call.set(state)
        try:
            result = await call_create(original, self, messages, args, kwargs)
        except BaseException as e:
            current_llm_call.reset(token)
            safely("a failed model call", _end, state, None, e)
            raise
        current_llm_call.reset(token)
        safely("a model call", _end, state, result)
        return result

    return create


async def _recorded_llm_stream(
    inner: AsyncGenerator[Any, None], state: dict[str, Any]
) -> AsyncGenerator[Any, None]:
    offsets: list[float] = []
    state["chunk_offsets"] = offsets
    sizes: list[int] = []
    state["chunk_sizes"] = sizes
    result, error = None, None
    try:
        while True:
            try:
                item = await next_within(current_llm_call, state, inner)
            except StopAsyncIteration:
                break
            if type(item).__name__ == "CreateResult":
                result = item
            else:
                offsets.append(round((time.perf_counter() - state["perf"]) * 1000, 3))
                sizes.append(len(item) if isinstance(item, str) else 0)
            yield item
    except BaseException as e:
        if isinstance(e, GeneratorExit):  # the caller stopped reading before the answer was whole
            state["stopped_reading"] = True
        else:
            error = e
        raise
    finally:
        try:
            await inner.aclose()
        finally:
            safely("a streamed model call", _end, state, result, error)


def wrap_create_stream(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_stream(self: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
        run = current_run.get()
        if run is None and active() is not None:  # a script's own call: a run of its own, once it is read
            return direct_stream(
                self,
                messages,
                recorded=lambda: create_stream(self, messages, *args, **kwargs),
                plain=lambda: call_create_stream(original, self, messages, args, kwargs),
            )
        if run is None or current_llm_call.get():  # {}: a finished call's note
            if run is not None:
                safely("a model call", _note_inner, self)
            return call_create_stream(original, self, messages, args, kwargs)
        state = safely("a model call", _begin, self, run, messages, args, kwargs)
        inner = call_create_stream(original, self, messages, args, kwargs)
        if state is None:
            return inner
        return _recorded_llm_stream(inner, state)

    return create_stream
