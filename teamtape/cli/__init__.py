"""The `teamtape` command line: one module per group of commands, each with a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

from teamtape.store import RunNotFoundError, TeamtapeError

from ._output import store_flag

# Each module defines ``register(subparsers, common)`` adding its commands; a handler returns an exit code.
COMMAND_MODULES = (
    "teamtape.cli._record",
    "teamtape.cli._browse",
    "teamtape.cli._demo",
    "teamtape.cli._lake",
    "teamtape.cli._tui",
    "teamtape.cli._otlp",
    "teamtape.cli._replay",
    "teamtape.cli._tape",
)

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_ERROR = 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("teamtape")
    except PackageNotFoundError:  # a source checkout that was not installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by ``main`` and by the docs)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="store directory (default: $TEAMTAPE_STORE or ./.teamtape)",
    )
    parser = argparse.ArgumentParser(
        prog="teamtape",
        description="A flight recorder for AutoGen 0.7 teams: record, browse, cost, replay.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"teamtape {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``teamtape`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    if not hasattr(args, "store"):
        args.store = None
    show_warning = warnings.showwarning
    warnings.showwarning = _one_line_for_teamtape(show_warning)
    try:
        return int(args.func(args) or 0)
    except TeamtapeError as e:
        print(f"teamtape: {e}", file=sys.stderr)
        if isinstance(e, RunNotFoundError) and args.store is not None:  # its hints name no store
            print(
                f"teamtape: `teamtape runs{store_flag(args.store, args.store)}` lists this store's runs",
                file=sys.stderr,
            )
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    finally:
        warnings.showwarning = show_warning


def _one_line_for_teamtape(show_warning: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints teamtape's own warnings as one line for a person (no
    Python file, line and source) and hands any other warning (e.g. of the script ``teamtape run``
    runs) to ``show_warning``."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        text = str(message)
        if not text.startswith("teamtape"):
            show_warning(message, category, filename, lineno, file, line)
            return
        text = text.removeprefix("teamtape: ").removeprefix("teamtape ")
        print(f"teamtape: warning: {text}", file=file or sys.stderr)

    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
