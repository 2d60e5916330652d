"""Trace and span ids derived from run and event ids, so that exporting a run twice is idempotent.

Every id is a slice of a SHA-256 of a namespaced string: the trace of a run comes from the id of its
top-level run (nested runs share their parent's trace), the run's own span from its run id, and
every other span from the event that recorded it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import IdGenerator


def _digest_int(text: str, n_bytes: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:n_bytes], "big")
    return value or 1  # 0 is the invalid id in OpenTelemetry


def trace_id_for(root_run_id: str) -> int:
    """The 128-bit trace id of a top-level run (and of every run nested in it)."""
    return _digest_int(f"teamtape/trace/{root_run_id}", 16)


def run_span_id(run_id: str) -> int:
    """The 64-bit span id of a run's ``invoke_workflow`` span."""
    return _digest_int(f"teamtape/run/{run_id}", 8)


def turn_span_id(run_id: str, turn_id: str) -> int:
    """The span id of an agent turn (``invoke_agent``), from the turn id the recorder assigns."""
    return _digest_int(f"teamtape/turn/{run_id}/{turn_id}", 8)


def tool_span_id(run_id: str, call_id: str) -> int:
    """The span id of a tool call, from its call id, so a nested run it starts can name it as parent."""
    return _digest_int(f"teamtape/tool/{run_id}/{call_id}", 8)


def event_span_id(event_id: str) -> int:
    """The span id of any other span (one event, one span)."""
    return _digest_int(f"teamtape/event/{event_id}", 8)


class PresetIds(IdGenerator):
    """An id generator that hands out the ids the translator chose for the next span."""

    def __init__(self) -> None:
        self.trace_id = 0
        self.span_id = 0

    def generate_span_id(self) -> int:
        return self.span_id

    def generate_trace_id(self) -> int:
        return self.trace_id


def run_span_context(run_id: str, root_run_id: str | None = None) -> trace.SpanContext:
    """The span context of teamtape's span for a run (as a remote parent)."""
    return trace.SpanContext(
        trace_id=trace_id_for(root_run_id or run_id),
        span_id=run_span_id(run_id),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )


@contextlib.contextmanager
def linked_to_run(run_id: str, root_run_id: str | None = None) -> Iterator[otel_context.Context]:
    """Make teamtape's span of a run the parent of every span started inside this block.

    Spans created on *any* tracer provider inside the block (AutoGen's own ``invoke_agent`` /
    ``execute_tool`` spans, the runtime's ``autogen publish/process`` spans, an HTTP client's spans,
    your own) become children of teamtape's ``invoke_workflow`` span of that run, in the same trace,
    even though teamtape sends its spans separately and later.

    Args:
        run_id: the run being recorded.
        root_run_id: the top-level run it is nested in (``None`` for a top-level run).

    Example:
        >>> from opentelemetry import trace
        >>> with linked_to_run("0123456789abcdef"):
        ...     parent = trace.get_current_span().get_span_context()
        >>> parent.span_id == run_span_id("0123456789abcdef")
        True
    """
    ctx = trace.set_span_in_context(trace.NonRecordingSpan(run_span_context(run_id, root_run_id)))
    token = otel_context.attach(ctx)
    try:
        yield ctx
    finally:
        otel_context.detach(token)
