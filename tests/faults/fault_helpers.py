"""Helpers of the fault suite: subprocesses to kill, real stores to break, tmpfs mounts, figures.

Every fault here is real: ``kill -9`` of a real process, a real full or read-only filesystem, real
bytes damaged in real files. Where a test has to choose the moment of a fault, a pause point in
``tests/support/fault_script.py`` stops the real code there until the test kills or resumes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from teamtape.store import Event, Store

SCRIPT = Path(__file__).parents[1] / "support" / "fault_script.py"
ROOT = Path(__file__).parents[2]

FIGURES: dict[str, Any] = {}
"""Figures the fault suite measured, printed at the end of the test session (see the report)."""


def note(key: str, value: Any) -> None:
    """Record a figure (counts add up across tests)."""
    if isinstance(value, int) and isinstance(FIGURES.get(key), int):
        FIGURES[key] += value
    else:
        FIGURES[key] = value


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra or {})}
    env.pop("TT_PAUSE", None)
    if extra and "TT_PAUSE" in extra:
        env["TT_PAUSE"] = extra["TT_PAUSE"]
    return env


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``fault_script.py ARGS`` with its stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-W", "always", str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(env),
    )


def wait_for_line(proc: subprocess.Popen[str], prefix: str) -> str:
    """Read the process's stdout until a line starts with ``prefix``; fail with its stderr if it ends first."""
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=30)
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(
                f"the process ended (exit {proc.returncode}) before printing {prefix!r}:\n{err}"
            )
        if line.startswith(prefix):
            return line.rstrip("\n")


def kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    note("processes killed with SIGKILL", 1)


def done_info(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[dict[str, Any], str]:
    """Wait for a fault_script process; its ``DONE`` document and its stderr."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    line = next(x for x in reversed(out.splitlines()) if x.startswith("DONE "))
    return json.loads(line[5:]), err


def teamtape_cli(
    store: Path | str, *args: str, pause: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``teamtape --store STORE ARGS`` in a fresh process (to completion)."""
    env = _env({"TT_PAUSE": pause} if pause else None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def paused_cli(
    store: Path | str, pause: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``teamtape --store STORE ARGS`` and wait until it reaches the pause point."""
    proc = spawn("cli", "--store", str(store), *args, env={"TT_PAUSE": pause, **(env or {})})
    wait_for_line(proc, "PAUSED")
    return proc


def assert_clean_exit(proc: subprocess.CompletedProcess[str], code: int = 0) -> None:
    """The CLI exited with ``code`` and, whatever happened, printed no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == code, f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"


def all_events(store: Store) -> list[Event]:
    """Every event of a store, as recorded (requests not expanded), in run and seq order."""
    run_ids = [r["run_id"] for r in store.query("SELECT DISTINCT run_id FROM events ORDER BY run_id")]
    return [e for run_id in run_ids for e in store.events(run_id, expand_requests=False)]


def journal_only_copy(source: Store, target: Path) -> tuple[Path, list[Event]]:
    """A store at ``target`` holding ``source``'s events in one journal not folded yet (as a dead
    recording process leaves it); returns the journal and the events it holds."""
    events = [e for e in all_events(source) if e.kind != "run_crashed"]
    writer = Store(target).writer()
    writer.append_many(events)
    writer.close()
    return writer.path, events


def event_ids(store: Store) -> list[str]:
    return [r["event_id"] for r in store.query("SELECT event_id FROM events ORDER BY event_id")]


def projection_summary(store: Store) -> list[dict[str, Any]]:
    """What a user sees of every run: compared before and after a fault."""
    return store.query(
        "SELECT run_id, parent_run_id, status, messages, llm_calls, tool_calls, input_tokens, output_tokens, "
        "round(cost_usd, 9) AS cost_usd, events FROM runs ORDER BY run_id"
    )


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (skips the test where mounting is not permitted)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs in this sandbox ({done.stderr.strip() or 'not root'}); "
            "the RLIMIT_FSIZE variant of this test still runs"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    done = subprocess.run(["mount", "-o", f"remount,{options}", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``teamtape ARGV`` in this process: an uncaught exception fails the test with its traceback.
    Returns the exit code, stdout and stderr."""
    from teamtape.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
