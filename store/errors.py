"""The exceptions teamtape raises: one root, one subclass per concern.

Every error carries a message that says what was wrong and what to do about it; the CLI prints it
without a traceback.
"""

from __future__ import annotations

import re


class TeamtapeError(Exception):
    """Root of every error teamtape raises on purpose."""


class StoreError(TeamtapeError):
    """The store cannot be opened, read or written."""


class StoreNotFoundError(StoreError):
    """No store exists at the given path."""


class StoreBusyError(StoreError):
    """Another process held the store's write lock for longer than we were willing to wait."""


class SchemaVersionError(StoreError):
    """The store or a file was written by a newer teamtape than this one."""


def upgrade_hint(writer: object) -> str:
    """What to install to read something a newer teamtape wrote (``writer``: its version, if known)."""
    if isinstance(writer, str) and re.fullmatch(r"[0-9][0-9A-Za-z.+!-]{0,40}", writer):
        return f"teamtape {writer} (or newer) wrote it: pip install 'teamtape>={writer}'"
    return "upgrade teamtape (pip install -U teamtape) to read it"


class RunNotFoundError(TeamtapeError):
    """A RUN argument matched no run (or several)."""


class QueryError(TeamtapeError):
    """A user-supplied SQL query failed or tried to write."""


class ImportFileError(TeamtapeError):
    """A tape, lake or journal file that teamtape was asked to read is unreadable."""
