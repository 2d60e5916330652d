"""The tables of a lake: which store table each comes from, and what identifies a row."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

LAKE_FORMAT_VERSION = 1
"""Version of the lake layout (folders, file names, extra columns); stamped into every part."""

META_SCHEMA_VERSION = "teamtape.schema_version"
META_LAKE_VERSION = "teamtape.lake_version"
META_TABLE = "teamtape.table"
META_EXPORT_ID = "teamtape.export_id"
META_WRITTEN_BY = "teamtape.written_by"


@dataclass(frozen=True)
class LakeTable:
    """One folder of the lake.

    Attributes:
        name: folder and store table name.
        key: columns identifying a lake row; an export writes only rows whose key the lake lacks.
        snapshots: rows are snapshots of a mutable store row (readers keep the latest per run_id).
    """

    name: str
    key: tuple[str, ...]
    snapshots: bool = False

    def select_sql(self) -> str:
        """The query giving every row this table would hold, with its ``date`` partition column."""
        return (resources.files("teamtape.store.lake") / "sql" / f"{self.name}.sql").read_text(
            encoding="utf-8"
        )


# Events last: a lake's `events` are the source of truth, so they are published after the
# projections derived from them.
LAKE_TABLES: tuple[LakeTable, ...] = (
    LakeTable("runs", ("snapshot_hash",), snapshots=True),
    LakeTable("messages", ("event_id",)),
    LakeTable("llm_calls", ("event_id",)),
    LakeTable("tool_calls", ("event_id",)),
    LakeTable("handoffs", ("run_id", "seq")),
    LakeTable("memory_queries", ("run_id", "seq")),
    LakeTable("speaker_selections", ("run_id", "seq")),
    LakeTable("blobs", ("hash",)),
    LakeTable("events", ("event_id",)),
)

TABLES_BY_NAME = {t.name: t for t in LAKE_TABLES}
