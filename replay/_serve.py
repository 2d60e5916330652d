"""Turning recorded payloads back into the autogen objects a team expects."""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import recorded_error


def create_result(payload: dict[str, Any], *, cached: bool = True) -> Any:
    """The ``CreateResult`` of a recorded ``llm_call`` (raises the recorded error if it failed).

    Served results are marked ``cached`` (nothing was billed for them).
    """
    from autogen_core import FunctionCall
    from autogen_core.models import CreateResult, RequestUsage

    response = payload.get("response")
    if payload.get("error") and not response:
        raise recorded_error(payload["error"])
    response = response or {}
    content = response.get("content")
    if isinstance(content, list):
        content = [
            FunctionCall(
                id=str(c.get("id", "")),
                arguments=_arguments_text(c.get("arguments")),
                name=str(c.get("name", "")),
            )
            for c in content
            if isinstance(c, dict)
        ]
    elif content is not None and not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False)
    usage = response.get("usage") or {}
    return CreateResult(
        finish_reason=response.get("finish_reason") or "stop",
        content=content if content is not None else "",
        usage=RequestUsage(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        ),
        cached=cached,
        thought=response.get("thought"),
    )


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def stream_chunks(payload: dict[str, Any]) -> list[str]:
    """The text chunks a streamed call yielded before its ``CreateResult``.

    The recorder keeps the streamed text and the number of chunks (and, when recorded, each chunk's
    length in ``chunks.sizes``); without sizes the text is cut into that many near-equal pieces.
    """
    chunks = payload.get("chunks") or {}
    response = payload.get("response") or {}
    content = response.get("content")
    text = content if isinstance(content, str) else (response.get("thought") or "")
    if not text:
        return []
    sizes = chunks.get("sizes")
    if isinstance(sizes, list) and sum(int(s) for s in sizes) == len(text):
        out, start = [], 0
        for size in sizes:
            out.append(text[start : start + int(size)])
            start += int(size)
        return out
    n = max(1, min(int(chunks.get("n") or 1), len(text)))
    step, extra = divmod(len(text), n)
    out, start = [], 0
    for i in range(n):
        end = start + step + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def execution_result(recorded: dict[str, Any], tool_call: Any) -> Any:
    """A ``FunctionExecutionResult`` for a live tool call, from a recorded ``tool_call`` payload."""
    from autogen_core.models import FunctionExecutionResult

    result = recorded.get("result")
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    return FunctionExecutionResult(
        content=text, call_id=tool_call.id, is_error=bool(recorded.get("is_error")), name=tool_call.name
    )


def memory_result(recorded: dict[str, Any]) -> Any:
    """A ``MemoryQueryResult`` from a recorded ``memory_query`` payload."""
    from autogen_core.memory import MemoryContent, MemoryQueryResult

    items = []
    for item in recorded.get("results") or []:
        try:
            items.append(MemoryContent.model_validate(item))
        except Exception:
            items.append(MemoryContent(content=json.dumps(item, ensure_ascii=False), mime_type="text/plain"))
    return MemoryQueryResult(results=items)


_EXIT_CODE = re.compile(r"POSIX exit code(?: was)?: (-?\d+)")


def code_result(recorded: dict[str, Any]) -> Any:
    """A ``CodeResult`` from a recorded ``CodeExecutionEvent`` (its ``result``) or output text."""
    from autogen_core.code_executor import CodeResult

    result = recorded.get("result")
    if isinstance(result, dict):
        return CodeResult(exit_code=int(result.get("exit_code") or 0), output=str(result.get("output") or ""))
    output = str(recorded.get("content") or "")
    match = _EXIT_CODE.search(output)
    return CodeResult(exit_code=int(match.group(1)) if match else 0, output=output)
