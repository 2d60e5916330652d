"""Waiting for an exclusive ``flock`` on a file, with a deadline and an error of the caller's choosing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive_lock(
    path: Path, timeout_s: float, on_timeout: Callable[[], Exception], *, poll_s: float = 0.02
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created owner-only) for the ``with`` block.

    Raises ``OSError`` when the file cannot be opened, and ``on_timeout()`` when another process
    holds the lock for longer than ``timeout_s``.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise on_timeout() from None
                time.sleep(poll_s)
        with contextlib.suppress(OSError):  # who holds it, for whoever waits (see lock_holder)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {_program()}".encode(errors="replace"), 0)
        yield
    finally:
        os.close(fd)


def _program() -> str:
    """This process's program (``teamtape runs``, ``my_team.py``): never its arguments, which may
    hold secrets (``--api-key ...``)."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    if name == "teamtape" and len(sys.argv) > 1 and sys.argv[1].isidentifier():
        name += f" {sys.argv[1]}"  # the subcommand
    return name


def lock_holder(path: Path) -> str | None:
    """Who took the lock on ``path`` last, as "process PID (`PROGRAM`)", if it is still running."""
    try:
        pid_text, _, program = path.read_text(errors="replace").partition(" ")
        pid = int(pid_text)
        os.kill(pid, 0)
    except PermissionError:
        pass  # running, as another user
    except (OSError, ValueError):
        return None
    return f"process {pid} (`{program.strip()}`)" if program.strip() else f"process {pid}"
