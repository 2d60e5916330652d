"""``replay`` and ``diff``: re-run a recorded session offline, fork it, compare two runs."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from teamtape.store import open_store

from ._output import print_json, quiet_autogen_errors

EXIT_OK, EXIT_DIVERGED = 0, 1


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "replay",
        parents=[common],
        help="re-run a recorded run offline; exit 0 when identical, 1 when it diverges",
        description="Rebuild the team of RUN (from its recorded config, or with --factory) and re-run its "
        "whole session with every model call, tool result, memory query and code execution served from "
        "the recording: no network call, no side effect repeated. The replay is stored as new runs "
        "(replay_of) and compared with the recording message by message. With --fork-at N, model calls "
        "1..N-1 come from the recording and the run continues live from call N (stored with fork_of).",
    )
    p.add_argument("run", metavar="RUN", help="a run id, a unique prefix, or `last`")
    p.add_argument(
        "--factory",
        metavar="MODULE:CALLABLE",
        help="build the team with this callable (for teams whose config does not serialize)",
    )
    p.add_argument(
        "--execute-tools",
        action="store_true",
        help="run the real tools, memory queries and code instead of serving their recorded results",
    )
    p.add_argument(
        "--fork-at",
        type=_positive,
        metavar="N",
        help="serve model calls 1..N-1 from the recording, then continue live from call N",
    )
    p.add_argument(
        "--system-message",
        action="append",
        default=[],
        metavar="AGENT=TEXT",
        type=_assignment,
        help="with --fork-at: give AGENT this system prompt (repeatable)",
    )
    p.add_argument("--model", metavar="MODEL", help="with --fork-at: the model for the live part")
    p.add_argument(
        "--list-calls",
        action="store_true",
        help="only list the session's model calls, numbered as --fork-at counts them",
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=replay_command)

    p = sub.add_parser(
        "diff",
        parents=[common],
        help="where two runs diverge first, and a message-level diff after that",
        description="Compare the messages of two runs (ids, timestamps and token counts aside) and how "
        "they ended. Exit 0 when they are the same, 1 when they differ.",
    )
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=diff_command)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a model call number (1, 2, 3...)")
    return value


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not AGENT=TEXT")
    return name.strip(), value


def replay_command(args: argparse.Namespace) -> int:
    from teamtape.replay import replay_run

    store = open_store(args.store)
    if args.list_calls:
        return _list_calls(store, args)
    with quiet_autogen_errors():  # a replayed failure is reported below, and recorded
        report = asyncio.run(
            replay_run(
                store,
                args.run,
                factory=args.factory,
                execute_tools=args.execute_tools,
                fork_at=args.fork_at,
                system_messages=dict(args.system_message),
                model=args.model,
            )
        )
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.render())
    if args.fork_at is not None:  # a fork is meant to part from the original: only a failure counts
        return EXIT_DIVERGED if report.failed else EXIT_OK
    return EXIT_OK if report.identical else EXIT_DIVERGED


def diff_command(args: argparse.Namespace) -> int:
    from teamtape.replay import diff_runs

    store = open_store(args.store)
    a, b = store.resolve_run(args.run_a), store.resolve_run(args.run_b)
    diff = diff_runs(store, a, b)
    if args.json:
        print_json(
            {
                "run_a": a,
                "run_b": b,
                "identical": diff.identical,
                "first_divergence": diff.first_divergence,
                "messages": [diff.messages_a, diff.messages_b],
                "diff": diff.diff,
            }
        )
    elif diff.identical:
        print(f"runs {a} and {b} are the same ({diff.messages_a} messages).")
    else:
        where = f"at message {diff.first_divergence}" if diff.first_divergence else "in how they ended"
        print(f"runs {a} and {b} diverge {where}:")
        print(diff.diff)
    return EXIT_OK if diff.identical else EXIT_DIVERGED


def _list_calls(store: Any, args: argparse.Namespace) -> int:
    from teamtape.replay._rerun import numbered_calls

    calls = numbered_calls(store, args.run)
    if args.json:
        print_json({"calls": calls})
        return EXIT_OK
    for call in calls:
        said = f"error: {call['error']}" if call["error"] else call["response"]
        print(f"{call['n']:>4}  {call['agent'] or '?':<18} {call['model'] or '?':<14} {said}")
    return EXIT_OK
