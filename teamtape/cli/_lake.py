"""``export parquet`` and ``import``: the Parquet lake from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading
from pathlib import Path
from typing import Any

from teamtape.store import ImportFileError, TeamtapeError, open_store
from teamtape.store.lake import DEFAULT_INTERVAL_S, ExportReport, follow_lake, import_lake
from teamtape.store.lake import export_lake as _export_once

from ._export_group import export_subparsers
from ._output import print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = export_subparsers(sub, common).add_parser(
        "parquet",
        parents=[common],
        help="write new events and projections into a Parquet lake (a directory or s3://bucket/prefix)",
        description="Write what is new in the store into a Parquet lake: one folder per table, "
        "partitioned by date, parts never rewritten. Safe to re-run: only new rows are written.",
    )
    p.add_argument("lake", metavar="DIR", help="lake directory (created if missing) or s3://bucket/prefix")
    p.add_argument(
        "--follow", action="store_true", help="keep exporting every --interval seconds until stopped"
    )
    p.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        metavar="S",
        help=f"seconds between exports with --follow (default {DEFAULT_INTERVAL_S:g})",
    )
    p.add_argument("--s3-endpoint", metavar="URL", help="S3-compatible server (default: $AWS_ENDPOINT_URL)")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=export_parquet_command)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="bring a Parquet lake (or part of one) into the store",
        description="Import the events of a lake written by `teamtape export parquet` (a directory, one "
        "of its events/date=... folders, or s3://bucket/prefix); every projection is rebuilt from them. "
        "Events the store already holds are skipped.",
    )
    p.add_argument(
        "path", metavar="PATH", help="lake directory, a folder inside its events, or s3://bucket/prefix"
    )
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="only events from this day on (UTC)")
    p.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="only events up to this day (UTC)")
    p.add_argument("--run", metavar="RUN", help="only this run (id or unique prefix) and its nested runs")
    p.add_argument("--s3-endpoint", metavar="URL", help="S3-compatible server (default: $AWS_ENDPOINT_URL)")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=import_command)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: write YYYY-MM-DD") from None


def export_parquet_command(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if not args.follow:
        report = _export_once(store, args.lake, s3_endpoint=args.s3_endpoint)
        if args.json:
            print_json(report.to_dict())
        else:
            print(_summary(report))
        return 0
    if args.interval <= 0:
        raise TeamtapeError("--interval must be a positive number of seconds")
    stop = threading.Event()
    totals: dict[str, int] = {}

    def on_export(report: ExportReport) -> None:
        for table, n in report.rows.items():
            totals[table] = totals.get(table, 0) + n
        if report.total_rows and not args.json:
            print(_summary(report), flush=True)

    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if not args.json:
            print(
                f"following {store.root} into {args.lake} every {args.interval:g} s; Ctrl-C to stop",
                flush=True,
            )
        exports = follow_lake(
            store,
            args.lake,
            interval=args.interval,
            stop=stop,
            on_export=on_export,
            s3_endpoint=args.s3_endpoint,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.json:
        print_json({"lake": args.lake, "exports": exports, "rows": totals})
    else:
        print(f"stopped after {exports} export(s); {sum(totals.values())} new row(s) in all")
    return 0


def _summary(report: ExportReport) -> str:
    if not report.total_rows:
        return f"{report.lake} is up to date: nothing new to export."
    rows = report.rows
    counts = ", ".join(f"{n} {table}" for table, n in rows.items() if table != "events")
    return (
        f"exported {rows.get('events', 0)} new event(s) into {report.lake} in {report.seconds:.2f} s "
        f"({counts}; {len(report.parts)} new part(s))"
    )


def import_command(args: argparse.Namespace) -> int:
    path = str(args.path)
    local = Path(path).expanduser()
    if "://" not in path and not local.exists():
        raise ImportFileError(
            f"{path} does not exist. Give a tape file written by `teamtape export tape`, or a lake "
            "directory written by `teamtape export parquet`."
        )
    if "://" not in path and local.is_file() and local.suffix != ".parquet":
        return import_file(args)
    store = open_store(args.store, create=True)
    report = import_lake(
        store, path, s3_endpoint=args.s3_endpoint, since=args.since, until=args.until, run=args.run
    )
    if args.json:
        print_json({**report.to_dict(), "store": str(store.root)})
    elif not report.events:
        print(f"nothing to import from {report.lake} (no events match).")
    else:
        print(
            f"imported {report.new_events} new event(s) of {len(report.runs)} run(s) from {report.lake} into "
            f"{store.root} ({report.events - report.new_events} already there)."
        )
    return 0


def import_file(args: argparse.Namespace) -> int:
    """``import FILE``: a tape (a single-file recording written by ``export tape``)."""
    from ._tape import import_tape_command

    return import_tape_command(args)
