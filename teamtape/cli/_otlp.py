"""``export otlp``: send recorded runs to an OpenTelemetry endpoint as spans (and metrics)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from teamtape.store import open_store

from ._export_group import export_subparsers
from ._output import print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = export_subparsers(sub, common).add_parser(
        "otlp",
        parents=[common],
        help="send runs as OpenTelemetry GenAI spans to a Collector, Jaeger, Tempo, Phoenix, Langfuse...",
        description="Send recorded runs (with the runs nested in them) as OpenTelemetry spans, with their "
        "original timestamps. Span ids are derived from run and event ids, so sending a run again is "
        "safe. The endpoint, protocol and headers default to the OTEL_EXPORTER_OTLP_* variables.",
    )
    p.add_argument(
        "runs", nargs="*", metavar="RUN", help="run ids, unique prefixes or `last` (default: all runs)"
    )
    p.add_argument(
        "--endpoint",
        metavar="URL",
        help="receiver base URL, e.g. http://localhost:4318 (HTTP) or http://localhost:4317 (gRPC)",
    )
    p.add_argument(
        "--protocol",
        choices=["grpc", "http/protobuf"],
        help="default: $OTEL_EXPORTER_OTLP_PROTOCOL, else grpc for port 4317 and http/protobuf otherwise",
    )
    p.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="request header, e.g. 'Authorization=Basic ...' (repeatable; default "
        "$OTEL_EXPORTER_OTLP_HEADERS)",
    )
    p.add_argument("--timeout", type=float, metavar="S", help="seconds per request (default 10)")
    p.add_argument(
        "--capture-content",
        action="store_true",
        default=None,
        help="include messages, tool arguments and results, memory results and the task "
        "(default: $OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)",
    )
    p.add_argument(
        "--metrics",
        action="store_true",
        help="also send token, duration, cost and run metrics (timestamped now; sent twice, they count twice)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=export_otlp_command)


def export_otlp_command(args: argparse.Namespace) -> int:
    from teamtape.recorder.otlp import OtlpError, export_runs

    headers: dict[str, str] | None = None
    for item in args.header:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise OtlpError(
                f"--header {item!r} is not of the form NAME=VALUE (e.g. 'Authorization=Basic ...')."
            )
        headers = {**(headers or {}), name.strip().lower(): value.strip()}
    store = open_store(args.store)
    report = export_runs(
        store,
        args.runs or None,
        args.endpoint,
        args.protocol,
        headers=headers,
        timeout=args.timeout,
        capture_content=args.capture_content,
        metrics=args.metrics,
    )
    if args.json:
        print_json(report.to_dict())
        return 0
    n = len(report.runs)
    extras = [x for x, on in (("metrics", report.metrics), ("message content", report.content)) if on]
    also = f" with {' and '.join(extras)}" if extras else ""
    print(f"Sent {report.spans} spans from {n} run{'s' if n != 1 else ''}{also} to {report.destination}.")
    if report.note:
        print(f"teamtape: {report.note}", file=sys.stderr)
    return 0
