"""What each kind of event becomes: one span description (name, kind, attributes, status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanKind

from teamtape.store import Event

from . import semconv as sc
from ._content import BlobLookup, input_messages, openinference_messages, output_messages, resolve, to_json

Attributes = dict[str, Any]

_REQUEST_PARAMS = {
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "max_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": sc.GEN_AI_REQUEST_SEED,
}


@dataclass
class SpanSpec:
    """A finished span, described with the ids and times teamtape chose for it."""

    name: str
    kind: SpanKind
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_ns: int
    end_ns: int
    attributes: Attributes
    events: list[tuple[str, int, Attributes]] = field(default_factory=list)
    error: str | None = None
    """Status description when the span failed (status ERROR), else None."""


def us(ts: float) -> int:
    """Unix seconds to integer microseconds: the store keeps microseconds, so live and exported
    times agree to the nanosecond (both round half to even, as DuckDB's cast does)."""
    return round(ts * 1_000_000)


def ns(microseconds: int) -> int:
    return microseconds * 1000


def interval(event: Event) -> tuple[int, int]:
    """Start and end (microseconds) of a timed event: ``started_ts`` + ``duration_ms``, else ending at its ts."""
    p = event.payload
    duration = round((_number(p.get("duration_ms")) or 0.0) * 1000)
    start = _number(p.get("started_ts"))
    if start is None:
        end = us(event.ts)
        return end - duration, end
    return us(start), us(start) + duration


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def put(attrs: Attributes, key: str, value: Any) -> None:
    """Set an attribute when the value is present, converting it to a type OTLP can carry."""
    if value is None or value == "" or value == []:
        return
    if isinstance(value, (bool, int, float, str)):
        attrs[key] = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        attrs[key] = list(value)
    else:
        attrs[key] = to_json(value)


def error_of(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(error.type, message)`` of a payload's ``error`` field."""
    error = payload.get("error")
    if isinstance(error, dict):
        return str(error.get("type") or "Error"), str(error.get("message") or "")[:1000]
    if error:
        return "Error", str(error)[:1000]
    return None, None


def provider_name(provider: str | None) -> str | None:
    if not provider:
        return None
    return sc.PROVIDER_NAMES.get(provider, provider)


def chat_attributes(
    event: Event, cost: float | None, capture: bool, lookup: BlobLookup
) -> tuple[str, Attributes, str | None]:
    """Name, attributes and error of the ``chat {model}`` span of an ``llm_call``."""
    p = event.payload
    request = p.get("request") if isinstance(p.get("request"), dict) else {}
    response = p.get("response") if isinstance(p.get("response"), dict) else None
    usage = p.get("usage") if isinstance(p.get("usage"), dict) else {}
    raw = p.get("raw") if isinstance(p.get("raw"), dict) else {}
    model = p.get("model") or p.get("response_model")
    provider = provider_name(p.get("provider"))
    in_tok, out_tok = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
    cache_tok = _int(usage.get("cache_read_tokens"))
    a: Attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.OI_SPAN_KIND: sc.OI_KIND_LLM}
    put(a, sc.GEN_AI_PROVIDER_NAME, provider)
    put(a, sc.GEN_AI_SYSTEM, provider)
    put(a, sc.GEN_AI_REQUEST_MODEL, model)
    put(a, sc.GEN_AI_RESPONSE_MODEL, p.get("response_model"))
    put(a, sc.GEN_AI_RESPONSE_ID, raw.get("response_id") or (response or {}).get("id"))
    if response and response.get("finish_reason"):
        a[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [str(response["finish_reason"])]
    put(a, sc.GEN_AI_USAGE_INPUT_TOKENS, in_tok)
    put(a, sc.GEN_AI_USAGE_OUTPUT_TOKENS, out_tok)
    put(a, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cache_tok)
    put(a, sc.GEN_AI_REQUEST_STREAM, bool(p.get("streamed")))
    ttft = _number(p.get("ttft_ms"))
    put(a, sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, None if ttft is None else ttft / 1000)
    if request.get("json_output"):
        a[sc.GEN_AI_OUTPUT_TYPE] = "json"
    extra = request.get("extra_args") if isinstance(request.get("extra_args"), dict) else {}
    for key, attr in _REQUEST_PARAMS.items():
        put(a, attr, _number(extra.get(key)) if attr != sc.GEN_AI_REQUEST_SEED else _int(extra.get(key)))
    stop = extra.get("stop")
    put(a, sc.GEN_AI_REQUEST_STOP_SEQUENCES, [stop] if isinstance(stop, str) else stop)
    put(a, sc.GEN_AI_AGENT_NAME, event.agent)
    put(a, sc.TT_LLM_CALL_ID, p.get("call_id"))
    put(a, sc.TT_LLM_PROVIDER, p.get("provider"))
    put(a, sc.TT_LLM_CLIENT, p.get("client"))
    put(a, sc.TT_LLM_CACHED, bool(p.get("cached")))
    retries = p.get("retries")
    if isinstance(retries, list) and retries:
        put(a, sc.TT_LLM_RETRIES, len(retries))
        put(a, sc.TT_LLM_RETRIED_AFTER, [str(r.get("after")) for r in retries if isinstance(r, dict)])
    put(a, sc.TT_COST_USD, cost)
    put(a, sc.GEN_AI_USAGE_COST, cost)
    # OpenInference
    put(a, sc.OI_LLM_MODEL_NAME, p.get("response_model") or model)
    put(a, sc.OI_LLM_PROVIDER, provider)
    put(a, sc.OI_LLM_SYSTEM, provider)
    put(a, sc.OI_LLM_TOKEN_COUNT_PROMPT, in_tok)
    put(a, sc.OI_LLM_TOKEN_COUNT_COMPLETION, out_tok)
    if in_tok is not None or out_tok is not None:
        a[sc.OI_LLM_TOKEN_COUNT_TOTAL] = (in_tok or 0) + (out_tok or 0)
    put(a, sc.OI_LLM_TOKEN_COUNT_CACHE_READ, cache_tok)
    scalars = {k: v for k, v in extra.items() if isinstance(v, (bool, int, float, str))}
    if scalars:
        a[sc.OI_LLM_INVOCATION_PARAMETERS] = to_json(scalars)
    if capture:
        inputs = input_messages(request.get("messages"), lookup)
        outputs = output_messages(response)
        put(a, sc.GEN_AI_INPUT_MESSAGES, to_json(inputs) if inputs else None)
        put(a, sc.GEN_AI_OUTPUT_MESSAGES, to_json(outputs) if outputs else None)
        tools = resolve(request.get("tools"), lookup)
        put(a, sc.GEN_AI_TOOL_DEFINITIONS, to_json(tools) if tools else None)
        a.update(openinference_messages(sc.OI_LLM_INPUT_MESSAGES, inputs))
        a.update(openinference_messages(sc.OI_LLM_OUTPUT_MESSAGES, outputs))
    error_type, message = error_of(p)
    put(a, sc.ERROR_TYPE, error_type)
    return f"{sc.OP_CHAT} {model or 'unknown'}".strip(), a, (message or error_type) if error_type else None


def tool_attributes(event: Event, capture: bool) -> tuple[str, Attributes, str | None]:
    """Name, attributes and error of the ``execute_tool {tool}`` span of a ``tool_call``."""
    p = event.payload
    tool = str(p.get("tool") or "unknown")
    kind = str(p.get("kind") or "function")
    a: Attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.OI_SPAN_KIND: sc.OI_KIND_TOOL}
    put(a, sc.GEN_AI_TOOL_NAME, tool)
    put(a, sc.GEN_AI_TOOL_CALL_ID, p.get("call_id"))
    put(a, sc.GEN_AI_TOOL_TYPE, sc.TOOL_TYPES.get(kind, "function"))
    put(a, sc.GEN_AI_AGENT_NAME, event.agent)
    put(a, sc.TT_TOOL_KIND, kind)
    put(a, sc.TT_TOOL_IS_ERROR, bool(p.get("is_error")))
    put(a, sc.TT_CHILD_RUN_ID, p.get("child_run_id"))
    put(a, sc.OI_TOOL_NAME, tool)
    if capture:
        arguments = to_json(p.get("arguments"))
        result = p.get("result") if isinstance(p.get("result"), str) else to_json(p.get("result"))
        put(a, sc.GEN_AI_TOOL_CALL_ARGUMENTS, arguments)
        put(a, sc.GEN_AI_TOOL_CALL_RESULT, result)
        put(a, sc.OI_INPUT_VALUE, arguments)
        put(a, sc.OI_INPUT_MIME_TYPE, "application/json")
        put(a, sc.OI_OUTPUT_VALUE, result)
    error_type, message = error_of(p)
    if p.get("is_error") and not error_type:
        error_type, message = "tool_error", "the tool reported an error"
    elif not capture:  # what a tool raised repeats its arguments and result, which are content
        message = None
    put(a, sc.ERROR_TYPE, error_type)
    return f"{sc.OP_EXECUTE_TOOL} {tool}", a, (message or error_type) if error_type else None


def retrieval_attributes(event: Event, capture: bool) -> tuple[str, Attributes, str | None]:
    """Name, attributes and error of the ``retrieval {memory}`` span of a ``memory_query``."""
    p = event.payload
    memory = str(p.get("memory") or "memory")
    a: Attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.OI_SPAN_KIND: sc.OI_KIND_RETRIEVER}
    put(a, sc.GEN_AI_DATA_SOURCE_ID, memory)
    put(a, sc.GEN_AI_AGENT_NAME, event.agent)
    put(a, sc.TT_MEMORY_TYPE, p.get("memory_type"))
    put(a, sc.TT_MEMORY_N_RESULTS, _int(p.get("n_results")))
    if capture:
        query = p.get("query")
        put(a, sc.GEN_AI_RETRIEVAL_QUERY_TEXT, query if isinstance(query, str) else to_json(query))
        put(a, sc.OI_INPUT_VALUE, query if isinstance(query, str) else to_json(query))
        results = p.get("results") if isinstance(p.get("results"), list) else []
        put(a, sc.GEN_AI_RETRIEVAL_DOCUMENTS, to_json(results) if results else None)
        for i, doc in enumerate(results[: sc.OI_MAX_MESSAGES]):
            content = doc.get("content") if isinstance(doc, dict) else doc
            base = f"{sc.OI_RETRIEVAL_DOCUMENTS}.{i}."
            put(a, base + sc.OI_DOCUMENT_CONTENT, content if isinstance(content, str) else to_json(content))
            if isinstance(doc, dict) and doc.get("metadata"):
                put(a, base + sc.OI_DOCUMENT_METADATA, to_json(doc["metadata"]))
    error_type, message = error_of(p)
    put(a, sc.ERROR_TYPE, error_type)
    return f"{sc.OP_RETRIEVAL} {memory}", a, (message or error_type) if error_type else None


def turn_attributes(event: Event) -> tuple[str, Attributes, str | None]:
    """Name, attributes and error of the ``invoke_agent {agent}`` span of an ``agent_turn``."""
    agent = event.agent or "agent"
    a: Attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.OI_SPAN_KIND: sc.OI_KIND_AGENT}
    put(a, sc.GEN_AI_AGENT_NAME, agent)
    put(a, sc.OI_AGENT_NAME, agent)
    put(a, sc.TT_TURN_ID, event.payload.get("turn_id"))
    error_type, message = error_of(event.payload)
    put(a, sc.ERROR_TYPE, error_type)
    return f"{sc.OP_INVOKE_AGENT} {agent}", a, (message or error_type) if error_type else None
