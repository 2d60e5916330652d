"""`teamtape tui`: the terminal UI."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable


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
    parser.add_argument(
        "--wait",
        action="store_true",
        help="if the store does not exist yet, wait for the first recording into it (then open it)",
    )
    parser.set_defaults(func=_tui)


def wait_for_store(
    path: str | os.PathLike[str] | None, poll: float, say: Callable[[str], None] = print
) -> None:
    """Return once the store at ``path`` exists (a recording has started there); says so while it waits."""
    from teamtape.store import Store
    from teamtape.store.paths import resolve_store_path

    store = Store(resolve_store_path(path))
    if store.exists:
        return
    if store.root.exists() and not store.root.is_dir():
        return  # not a directory: opening it says what is wrong
    say(f"waiting for the first recording into {store.root} (Ctrl-C to stop)...")
    while not store.exists:
        time.sleep(poll)


def _tui(args: argparse.Namespace) -> int:
    if args.poll <= 0:
        from teamtape.store import TeamtapeError

        raise TeamtapeError(f"--poll must be a positive number of seconds, not {args.poll}.")
    if args.wait:
        try:
            wait_for_store(args.store, args.poll)
        except KeyboardInterrupt:
            return 130
    from teamtape.tui import run_tui  # textual is imported only when the TUI runs

    return run_tui(args.store, poll_interval=args.poll)
