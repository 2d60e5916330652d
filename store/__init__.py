"""The event-sourced store: event schema, journals, DuckDB projections, import and export."""

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
from .fold import FoldReport
from .journal import JournalWriter
from .paths import resolve_store_path
from .redact import REDACTED, Redactor
from .store import Store, open_store, resolve_run_ref

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
