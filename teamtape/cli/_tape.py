"""``export tape RUN FILE`` and tape files given to ``import``: recordings to keep in git."""

from __future__ import annotations

import argparse
from typing import Any

from teamtape.store import open_store
from teamtape.tui._format import counted

from ._export_group import export_subparsers
from ._output import print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = export_subparsers(sub, common).add_parser(
        "tape",
        parents=[common],
        help="write a recorded session to a portable, reviewable tape file",
        description="Write the session of RUN (its top-level runs, nested runs and the content they "
        "reference) to FILE: pretty-printed JSON in a stable order, schema-versioned, secrets scrubbed. "
        "Replay it anywhere with `teamtape import FILE` then `teamtape replay`, or with "
        "ReplayChatCompletionClient(FILE) and the pytest plugin.",
    )
    p.add_argument("run", metavar="RUN", help="a run id, a unique prefix, or `last`")
    p.add_argument("file", metavar="FILE", help="the tape file to write (e.g. tests/tapes/refund.tape.json)")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=export_tape_command)


def export_tape_command(args: argparse.Namespace) -> int:
    from teamtape.replay import export_tape

    tape = export_tape(open_store(args.store), args.run, args.file)
    events = sum(len(r.events) for r in tape.runs)
    if args.json:
        print_json(
            {
                "tape": str(args.file),
                "run": tape.root_run_id,
                "runs": [r.run_id for r in tape.runs],
                "events": events,
                "blobs": len(tape.blobs),
            }
        )
    else:
        print(
            f"wrote {len(tape.runs)} run(s), {events} event(s) and {len(tape.blobs)} blob(s) to {args.file}"
        )
    return 0


def import_tape_command(args: argparse.Namespace) -> int:
    """``import FILE`` for a tape file (``teamtape.cli._lake`` hands files to this)."""
    from teamtape.replay import import_tape

    store = open_store(args.store, create=True)
    report = import_tape(store, args.path)
    if getattr(args, "json", False):
        print_json({**report.to_dict(), "store": str(store.root)})
    elif report.runs and not report.new_events:
        print(
            f"nothing new: the {counted(len(report.runs), 'run')} of {args.path} were already in {store.root}."
        )
    else:
        there = f"; {len(report.already)} of them were there before" if report.already else ""
        print(
            f"imported {counted(report.new_events, 'new event')} of {counted(len(report.runs), 'run')} "
            f"from {args.path} into {store.root}{there}."
        )
    return 0
