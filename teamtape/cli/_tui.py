"""`teamtape tui`: the terminal UI."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "tui",
        parents=[common],
        help="browse runs, conversations, LLM calls, tools and costs in the terminal (live)",
        description="Browse the store in a terminal UI. It updates live while other processes record. "
        "Press ? inside for the keys.",
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=1.5,
        metavar="SECONDS",
        help="how often to look for new runs and events (default: 1.5)",
    )
    parser.set_defaults(func=_tui)


def _tui(args: argparse.Namespace) -> int:
    if args.poll <= 0:
        from teamtape.store import TeamtapeError

        raise TeamtapeError(f"--poll must be a positive number of seconds, not {args.poll}.")
    from teamtape.tui import run_tui  # textual is imported only when the TUI runs

    return run_tui(args.store, poll_interval=args.poll)
