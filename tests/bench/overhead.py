"""One timed run of the zero-latency team under one recorder, in this (fresh) process.

The suite (``tests/bench/run.py``) starts this module once per variant and repetition, so no
variant's patches, tracer provider or caches leak into another's figures::

    .venv/bin/python -m tests.bench.overhead VARIANT [--messages 900] [--client instant|openai] [--context N]
                                                      [--store DIR] [--out F]

It writes one JSON object (to ``--out``, or prints it): wall and process CPU seconds of ``team.run()`` only (imports, set-up,
a warm-up run and tear-down are left out), the chat messages produced, and what the recorder kept
(events written and journal bytes for teamtape, spans for the OpenTelemetry peers).

Variants:

- ``bare``: no recording (the reference);
- ``teamtape`` / ``teamtape-no-content``: ``teamtape.record(capture_content=True/False)``;
- ``openinference``: OpenInference's ``AutogenAgentChatInstrumentor`` with an ``InMemorySpanExporter``.
  It wraps only OpenAI-family clients' ``create``; its own create wrapper is applied to the in-process
  model too, so it traces the model calls a real OpenAI-backed team would make;
- ``openinference-as-installed``: the same instrumentor alone, as its documentation sets it up: on the
  in-process model it traces the agents and the team but no model call;
- ``autogen-otel``: AutoGen's own runtime and GenAI tracing, with an SDK ``TracerProvider`` set as the
  global provider and a ``SimpleSpanProcessor(InMemorySpanExporter)``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from autogen_agentchat.messages import BaseChatMessage

from tests.bench._harness import write_figures
from tests.bench.zero_latency_team import InstantModel, build_team

VARIANTS = (
    "bare",
    "teamtape",
    "teamtape-no-content",
    "openinference",
    "openinference-as-installed",
    "autogen-otel",
)
CLIENTS = ("instant", "openai")
TASK = "Look up every key and report."
WARM_UP_MESSAGES = 30


def _in_memory_provider() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _instrument_openinference(trace_instant_model: bool) -> Any:
    from openinference.instrumentation.autogen_agentchat import AutogenAgentChatInstrumentor
    from openinference.instrumentation.autogen_agentchat._wrappers import (
        _BaseOpenAIChatCompletionClientCreateWrapper,
    )
    from wrapt import wrap_function_wrapper

    provider, exporter = _in_memory_provider()
    instrumentor = AutogenAgentChatInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    if trace_instant_model:
        wrap_function_wrapper(
            InstantModel.__module__,
            "InstantModel.create",
            _BaseOpenAIChatCompletionClientCreateWrapper(instrumentor._tracer),
        )
    return exporter


def _instrument_autogen_otel() -> Any:
    from opentelemetry import trace

    provider, exporter = _in_memory_provider()
    trace.set_tracer_provider(provider)  # AutoGen's runtime and agents use the global provider
    return exporter


def _chat_messages(result: Any) -> int:
    return sum(1 for m in result.messages if isinstance(m, BaseChatMessage))


async def _timed_run(messages: int, context: int | None, client: str = "instant") -> dict[str, Any]:
    team = build_team(messages, client, context)  # type: ignore[arg-type]
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = await team.run(task=TASK)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"wall_s": wall, "cpu_s": cpu, "messages": _chat_messages(result)}


async def measure(
    variant: str, messages: int, store: Path, context: int | None = None, client: str = "instant"
) -> dict[str, Any]:
    """Warm up, then time one run of ``messages`` messages under ``variant``, on ``client``'s model."""
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; pick one of: {', '.join(VARIANTS)}")
    # Nobody prints while we time the team (OpenTelemetry warns on every span past 128 attributes).
    for name in ("autogen_core", "opentelemetry"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # Every variant imports the OpenAI client module, as any team on an OpenAI-compatible client does:
    # teamtape and OpenInference import it anyway, and its ~60,000 objects make each full garbage
    # collection slower, which would otherwise be charged to them alone.
    import autogen_ext.models.openai  # noqa: F401

    exporter: Any = None
    if variant.startswith("openinference"):
        try:
            exporter = _instrument_openinference(trace_instant_model=variant == "openinference")
        except ImportError as e:
            return {
                "skipped": f"{e.name or e} is not installed (pip install openinference-instrumentation-autogen-agentchat)"
            }
    elif variant == "autogen-otel":
        exporter = _instrument_autogen_otel()
    if variant.startswith("teamtape"):
        import teamtape
        from teamtape.recorder import recorder_failures

        async with teamtape.record(
            store=store, capture_content=variant == "teamtape", save_state=True
        ) as rec:
            await _timed_run(WARM_UP_MESSAGES, context, client)
            before, journal_before = rec.recorder.events_written, _journal_bytes(rec)
            out = await _timed_run(messages, context, client)
            out["events"] = rec.recorder.events_written - before
            out["journal_bytes"] = _journal_bytes(rec) - journal_before
        out["recorder_failures"] = recorder_failures()
        return out
    await _timed_run(WARM_UP_MESSAGES, context, client)
    if exporter is not None:
        exporter.clear()
    out = await _timed_run(messages, context, client)
    if exporter is not None:
        out["spans"] = len(exporter.get_finished_spans())
    return out


def _journal_bytes(rec: Any) -> int:
    writer = rec.recorder._writer
    return writer.bytes_written if writer is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument(
        "--messages", type=int, default=900, help="chat messages in the timed run (default 900)"
    )
    parser.add_argument(
        "--store", type=Path, default=None, help="teamtape store directory (default: a temp dir)"
    )
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="instant",
        help="the model: in-process (default) or the OpenAI client",
    )
    parser.add_argument("--context", type=int, default=None, help="bound each agent's context to N messages")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here (default: print them)")
    args = parser.parse_args()
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        os.environ.pop(var, None)
    if args.store is None:
        import tempfile

        args.store = Path(tempfile.mkdtemp(prefix="teamtape-bench-overhead-")) / "store"
    figures = {
        "variant": args.variant,
        **asyncio.run(measure(args.variant, args.messages, args.store, args.context, args.client)),
    }
    if args.out is not None:
        write_figures(args.out, figures)
    else:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
