"""Per-process append-only journals: how recording processes write without touching DuckDB.

A recording process owns one journal file (``journal/<host>-<pid>-<random>.jsonl``), holds an
exclusive ``flock`` on it for as long as it lives, and appends one JSON line per event with a single
``os.write`` on an ``O_APPEND`` descriptor. A line that reached ``write`` is in the OS page cache, so
``kill -9`` loses nothing already emitted. Whoever folds the journals into DuckDB can tell a live
writer from a dead one by trying that lock: the kernel releases it when the process dies.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import threading
import time
from pathlib import Path

from ._files import write_all
from .events import Event, encode_event, utf8_line
from .paths import StoreLayout
from .redact import Redactor

JOURNAL_SUFFIX = ".jsonl"
CHECK_EVERY = 64  # writes between checks that the journal file still exists


class JournalWriter:
    """Appends events of this process to its own journal file.

    Not thread-safe by itself: the recorder calls it from one thread at a time (the event loop),
    and ``os.write`` of one line on ``O_APPEND`` is atomic with respect to other writers.
    """

    def __init__(self, journal_dir: Path, redactor: Redactor | None = None) -> None:
        journal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        host = socket.gethostname().replace("-", "_")[:32] or "host"
        self.path = journal_dir / f"{host}-{os.getpid()}-{os.urandom(4).hex()}{JOURNAL_SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._redactor = redactor or Redactor()
        self.bytes_written = 0
        self._lines = 0

    @property
    def name(self) -> str:
        return self.path.name

    def append(self, event: Event) -> None:
        """Write one event; raises OSError when the disk refuses (the recorder handles that)."""
        self.append_many([event])

    def write(self, lines: list[bytes]) -> bytes:
        """Redact whole encoded lines (each on its own) and write them with one system call; returns
        what was written. Raises OSError when the disk refuses (a short write is finished or fails)."""
        scrub = self._redactor.scrub_bytes
        data = scrub(lines[0]) if len(lines) == 1 else b"".join([scrub(line) for line in lines])
        write_all(self._fd, data)
        self.bytes_written += len(data)
        self._lines += 1
        if self._lines % CHECK_EVERY == 0:
            self.check_linked()
        return data

    def check_linked(self) -> None:
        """Raise ``FileNotFoundError`` when the journal was deleted (e.g. ``rm -rf`` of the store).

        Writes to a deleted file still succeed, and are lost when the process ends: this is how
        the recorder finds out, every few writes and at the end of each run, so it can say so.
        """
        if os.fstat(self._fd).st_nlink == 0:
            raise FileNotFoundError(errno.ENOENT, "the journal was deleted while recording", str(self.path))

    def append_many(self, events: list[Event]) -> None:
        """Write several events with one system call."""
        if events:
            self.write([utf8_line(encode_event(e) + "\n") for e in events])

    def close(self) -> None:
        """Release the lock; the journal is then folded and removed by the next reader."""
        if self._fd >= 0:
            try:
                os.close(self._fd)
            finally:
                self._fd = -1


ALIVE_SUFFIX = ".alive"
ALIVE_EVERY = 1.0
"""Seconds between the marks a recording process leaves that it is alive (see :func:`mark_alive_until`)."""
_ALIVE_BYTES = 24


def alive_path(journal: Path) -> Path:
    """Where the writer of ``journal`` marks when it was last alive (next to it; not a journal)."""
    return journal.with_name(journal.name + ALIVE_SUFFIX)


def mark_alive_until(journal: Path, stop: threading.Event, every: float = ALIVE_EVERY) -> None:
    """Write the time now into ``alive_path(journal)`` every ``every`` seconds until ``stop`` is set.

    Run in a thread of its own, sharing nothing with the writer (no lock, its own descriptor), so the
    team's event loop never waits on it and a fork never inherits it half-way. When the process is
    killed, the mark says within a second when it was last alive: a run left open while it waited
    (a model call that hung) ends then, not at its last event. The time is the file's content, not its
    modification time, so copying a store does not change it.
    """
    try:
        fd = os.open(alive_path(journal), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return  # crash times fall back to the last event
    try:
        while True:
            os.pwrite(fd, f"{time.time():.3f}".encode().ljust(_ALIVE_BYTES), 0)
            if stop.wait(every):
                return
    except OSError:
        return
    finally:
        os.close(fd)


def last_alive(journal: Path) -> float | None:
    """When the writer of ``journal`` last marked it was alive (None: no mark, or not readable)."""
    try:
        return float(alive_path(journal).read_bytes().strip() or b"x")
    except (OSError, ValueError):
        return None


def open_journal(root: Path, redactor: Redactor | None = None) -> JournalWriter:
    """A new journal for this process in the store at ``root`` (creating it, owner-only, if needed)."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return JournalWriter(StoreLayout(root).journal_dir, redactor)


def create_locked(path: Path) -> int:
    """A new file, 0600, opened for writing and ``flock``-ed as a journal is: while its writer lives,
    :func:`writer_is_alive` says so, and once the writer is killed, a fold can tell it was abandoned."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def writer_is_alive(path: Path) -> bool:
    """True while the process that owns this journal still holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def list_journals(journal_dir: Path) -> list[Path]:
    """Journal files in a stable order (by name)."""
    if not journal_dir.is_dir():
        return []
    return sorted(p for p in journal_dir.iterdir() if p.name.endswith(JOURNAL_SUFFIX))
