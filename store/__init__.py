"""The event-sourced store: event schema, journals, DuckDB projections, import and export.

What a recording process needs (events, journals, redaction) imports without DuckDB or pyarrow; the
DuckDB side (``Store``, ``open_store``...) is imported on first use, so recording never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teamtape._lazy import lazy_attributes

from .errors import (
    ImportFileError,
    QueryError,
    RunNotFoundError,
    SchemaVersionError,
    StoreBusyError,
    StoreError,
    StoreNotFoundError,
    TeamtapeError,
)
from .events import (
    SCHEMA_VERSION,
    Event,
    IdFactory,
    Kind,
    RawJson,
    RunStatus,
    decode_event,
    encode_event,
    message_text,
    new_run_id,
)
from .journal import JournalWriter
from .paths import resolve_store_path
from .redact import REDACTED, Redactor

if TYPE_CHECKING:
    from .fold import FoldReport
    from .store import Store, open_store, resolve_run_ref

_LAZY = {"FoldReport": ".fold", "Store": ".store", "open_store": ".store", "resolve_run_ref": ".store"}
__getattr__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = [
    "REDACTED",
    "SCHEMA_VERSION",
    "Event",
    "FoldReport",
    "IdFactory",
    "ImportFileError",
    "JournalWriter",
    "Kind",
    "QueryError",
    "RawJson",
    "Redactor",
    "RunNotFoundError",
    "RunStatus",
    "SchemaVersionError",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreNotFoundError",
    "TeamtapeError",
    "decode_event",
    "encode_event",
    "message_text",
    "new_run_id",
    "open_store",
    "resolve_run_ref",
    "resolve_store_path",
]
