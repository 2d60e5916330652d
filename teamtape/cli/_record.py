"""``teamtape run``: record an unmodified AutoGen script or module."""

from __future__ import annotations

import argparse
import importlib.util
import os
import runpy
import sys
import traceback
from typing import Any

from teamtape.store import TeamtapeError

from ._output import store_flag


def _labels(values: list[str] | None) -> dict[str, str]:
    labels = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TeamtapeError(f"--label takes key=value, got {item!r}")
        labels[key.strip()] = value.strip()
    return labels


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="record an unmodified AutoGen script (its exit code passes through)",
        description="Run a Python script or module with every AutoGen team and agent run recorded.",
    )
    p.add_argument("--name", help="a name for the recorded runs")
    p.add_argument(
        "--label", action="append", metavar="KEY=VALUE", help="label the recorded runs (repeatable)"
    )
    p.add_argument("--otlp", metavar="URL", help="also send spans and metrics to this OTLP endpoint")
    p.add_argument(
        "--redact",
        action="append",
        metavar="REGEX",
        help="also remove matches of this regular expression before anything is written (repeatable)",
    )
    p.add_argument(
        "--no-content",
        action="store_true",
        help="keep structure, timings, tokens and costs, but not what was said (runs cannot be replayed)",
    )
    p.add_argument("-m", dest="module", metavar="MODULE", help="run a module, like python -m")
    p.add_argument("script", nargs="?", help="the script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    p.set_defaults(func=run_command)


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def _check_module(name: str) -> None:
    """Refuse a module whose top-level package ``python -m`` would not find (from the current
    directory), before recording. Only the top level is looked up: that imports nothing, while
    looking up ``pkg.mod`` would run ``pkg/__init__.py`` before recording starts."""
    top = name.partition(".")[0]
    sys.path.insert(0, os.getcwd())
    try:
        spec = importlib.util.find_spec(top) if top else None
    except (ImportError, ValueError):
        spec = None
    finally:
        sys.path.remove(os.getcwd())
    if spec is None:
        raise TeamtapeError(
            f"no module named {top or name} (teamtape run -m takes a module python -m could run)"
        )


def _summary(recorder: Any, runs: int, flag: str) -> str:
    """What ``teamtape run`` says at the end about what it kept."""
    where = recorder.root
    if not recorder.journal_failed:
        return f"teamtape: recorded {runs} run(s) into {where} — see them with `teamtape runs{flag}` or `teamtape show last{flag}`"
    if not recorder.events_written:
        return f"teamtape: nothing was recorded: the store at {where} could not be written (see the warning above)"
    return (
        f"teamtape: recording into {where} stopped partway (see the warning above); "
        f"what was kept: `teamtape runs{flag}`"
    )


def _warn_of_store_after_the_script(script_args: list[str], args: argparse.Namespace) -> None:
    """Say so when ``--store`` comes after the script (and not before): it is the script's then, as
    with ``python script.py --store S``, and the recording lands in the default store instead."""
    if args.store is None and any(a == "--store" or a.startswith("--store=") for a in script_args):
        print(
            "teamtape: --store comes after the script, so it is passed to the script; teamtape's own "
            "options go before it (teamtape run --store DIR my_team.py ...)",
            file=sys.stderr,
        )


def run_command(args: argparse.Namespace) -> int:
    import teamtape

    if not args.module and not args.script:
        raise TeamtapeError(
            "give a script to run (teamtape run my_team.py) or a module (teamtape run -m pkg.mod)"
        )
    labels = _labels(args.label)
    patterns = list(args.redact or [])
    try:
        from teamtape.store import Redactor

        Redactor(patterns, defaults=False)  # a bad pattern is an error now, before the script runs
    except ValueError as e:
        raise TeamtapeError(f"--redact: {e}") from None
    if args.otlp:
        from teamtape.recorder.otlp import resolve_settings

        resolve_settings(args.otlp)  # a malformed URL is an error now, not a warning mid-run
    if args.module:
        target, script_args = args.module, ([args.script] if args.script else []) + list(args.args)
        _check_module(target)
    else:
        target, script_args = args.script, list(args.args)
        if not os.path.isfile(target):
            raise TeamtapeError(f"no such script: {target}")
    _warn_of_store_after_the_script(script_args, args)
    recorder = teamtape.instrument(
        store=args.store,
        name=args.name,
        labels=labels,
        otlp_endpoint=args.otlp,
        redact=patterns,
        capture_content=not args.no_content,
    )
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    code = 0
    try:
        if args.module:
            sys.argv = [target, *script_args]
            sys.path.insert(0, os.getcwd())
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *script_args]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        code = _exit_code(e)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        runs = len(recorder.run_ids)
        teamtape.uninstrument()
    if runs:
        print(_summary(recorder, runs, store_flag(args.store, recorder.root)), file=sys.stderr)
    return code
