"""The exceptions teamtape raises: one root, one subclass per concern.

Every error carries a message that says what was wrong and what to do about it; the CLI prints it
without a traceback.
"""

from __future__ import annotations


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


class RunNotFoundError(TeamtapeError):
    """A RUN argument matched no run (or several)."""


class QueryError(TeamtapeError):
    """A user-supplied SQL query failed or tried to write."""


class ImportFileError(TeamtapeError):
    """A tape, lake or journal file that teamtape was asked to read is unreadable."""
