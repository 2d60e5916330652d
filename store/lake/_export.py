"""Exporting a store into a Parquet lake, incrementally and without ever rewriting a part.

Layout (one folder per table, hive-partitioned by UTC date)::

    LAKE/events/date=2026-11-23/part-20261123T101500123456Z-1a2b3c-0.parquet
    LAKE/runs/date=.../part-....parquet      (snapshots: readers keep the latest per run_id)
    LAKE/llm_calls/..., messages/, tool_calls/, handoffs/, memory_queries/, speaker_selections/, blobs/
    LAKE/_teamtape/lake.json                 (layout and schema versions)
    LAKE/_teamtape/exports/<export_id>.json  (what each export wrote)

Each export writes, per table, only the rows whose key the lake does not hold yet, so a second
export writes only what is new and re-running is idempotent. Parts are written by DuckDB into a
staging folder, then renamed into place (locally) or uploaded whole (object storage): a reader
never sees half a part. Several stores can export into one lake: part names never collide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from ..db import teamtape_version
from ..errors import upgrade_hint
from ..events import SCHEMA_VERSION
from ..locks import exclusive_lock
from ..spill import full_payload
from ..store import Store
from ._errors import LakeError
from ._location import LakeLocation, open_location
from ._tables import (
    LAKE_FORMAT_VERSION,
    LAKE_TABLES,
    META_EXPORT_ID,
    META_LAKE_VERSION,
    META_SCHEMA_VERSION,
    META_TABLE,
    META_WRITTEN_BY,
    LakeTable,
)

META_DIR = "_teamtape"
LOCK_TIMEOUT_S = 30.0


@dataclass
class ExportReport:
    """What one export wrote.

    Attributes:
        lake: the lake, as shown to users.
        export_id: the id in every part name and in ``_teamtape/exports/<export_id>.json``.
        rows: new rows written per table (tables with none are left out).
        parts: lake-relative paths of the parts written.
        seconds: wall time of the export.
    """

    lake: str
    export_id: str
    rows: dict[str, int] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "lake": self.lake,
            "export_id": self.export_id,
            "rows": self.rows,
            "parts": self.parts,
            "seconds": round(self.seconds, 3),
        }


def export_lake(
    store: Store, dest: str | os.PathLike[str] | LakeLocation, *, s3_endpoint: str | None = None
) -> ExportReport:
    """Write what is new in ``store`` into the Parquet lake at ``dest``.

    Args:
        store: the store to export.
        dest: a directory (created if missing), ``s3://bucket/prefix``, or a :class:`LakeLocation`.
        s3_endpoint: URL of an S3-compatible server (default: ``$AWS_ENDPOINT_URL``).

    Returns:
        What was written; ``report.total_rows == 0`` when the lake was already up to date.

    Example:
        >>> from teamtape.store import open_store
        >>> from teamtape.store.lake import export_lake
        >>> report = export_lake(open_store("/tmp/doc-lake-store", create=True), "/tmp/doc-lake")
        >>> report.total_rows
        0
    """
    loc = dest if isinstance(dest, LakeLocation) else open_location(dest, s3_endpoint=s3_endpoint)
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    export_id = f"{now:%Y%m%dT%H%M%S%f}Z-{os.urandom(3).hex()}"
    report = ExportReport(loc.display, export_id)
    try:
        _export(store, loc, report, now)
    except (OSError, duckdb.Error) as e:  # the filesystem or bucket refused (permissions, credentials, space)
        raise LakeError(f"Cannot write the lake at {loc.display}: {str(e).splitlines()[0]}") from e
    report.seconds = time.monotonic() - started
    return report


def _export(store: Store, loc: LakeLocation, report: ExportReport, now: dt.datetime) -> None:
    export_id = report.export_id
    with _export_lock(loc):
        _check_lake_version(loc)
        existing = {t.name: _read_keys(loc, t) for t in LAKE_TABLES}
        staging = _staging_dir(loc, export_id)
        try:
            with store.connect() as con:
                _prepare(con, now)
                for table in LAKE_TABLES:
                    n = _stage_table(con, store, table, existing[table.name], staging, export_id)
                    if n:
                        report.rows[table.name] = n
            for table in LAKE_TABLES:
                report.parts += _publish(loc, staging, table)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _write_metadata(loc, report, now)


@contextlib.contextmanager
def _export_lock(loc: LakeLocation) -> Iterator[None]:
    """One export at a time into a local lake (object storage: one exporter per store and prefix)."""
    if not loc.local:
        yield
        return
    meta = Path(loc.path(META_DIR))

    def busy() -> LakeError:
        return LakeError(
            f"Another teamtape export has been writing {loc.display} for {LOCK_TIMEOUT_S:.0f} s. "
            "Wait for it to finish (or stop its --follow) and try again."
        )

    with contextlib.ExitStack() as stack:
        try:
            meta.mkdir(parents=True, exist_ok=True)
            stack.enter_context(exclusive_lock(meta / "export.lock", LOCK_TIMEOUT_S, busy, poll_s=0.05))
        except OSError as e:
            raise LakeError(
                f"Cannot write the lake at {loc.display}: {e.strerror}. Pick a writable directory."
            ) from e
        yield


def _check_lake_version(loc: LakeLocation) -> None:
    if not loc.exists(META_DIR, "lake.json"):
        return
    try:
        info = json.loads(loc.read_text(META_DIR, "lake.json"))
        version = int(info.get("lake_version", 0))
    except (OSError, ValueError, AttributeError) as e:
        raise LakeError(
            f"{loc.display}/{META_DIR}/lake.json is unreadable ({e}); is this a teamtape lake?"
        ) from e
    if version > LAKE_FORMAT_VERSION:
        raise LakeError(
            f"The lake at {loc.display} uses layout version {version}; this teamtape writes version "
            f"{LAKE_FORMAT_VERSION}: {upgrade_hint(info.get('written_by'))}, or export into another directory."
        )


def part_files(loc: LakeLocation, table: str) -> list[str]:
    """The Parquet parts of one lake table (hidden and temporary files excluded)."""
    return [
        f
        for f in loc.list_files(table)
        if f.endswith(".parquet") and not any(seg.startswith((".", "_")) for seg in f.split("/")[-2:])
    ]


def _read_keys(loc: LakeLocation, table: LakeTable) -> pa.Table | None:
    """The key columns of every row the lake already holds for ``table`` (None: no parts yet)."""
    files = part_files(loc, table.name)
    if not files:
        return None
    try:
        return pads.dataset(files, filesystem=loc.fs, format="parquet").to_table(columns=list(table.key))
    except (OSError, pa.ArrowInvalid) as e:
        raise LakeError(f"Cannot read {table.name} in the lake at {loc.display}: {e}") from e


def _staging_dir(loc: LakeLocation, export_id: str) -> Path:
    if not loc.local:
        return Path(tempfile.mkdtemp(prefix=f"teamtape-export-{export_id}-"))
    parent = Path(loc.path(META_DIR, "staging"))
    if parent.is_dir():  # leftovers of exports that died (we hold the export lock)
        for old in parent.iterdir():
            shutil.rmtree(old, ignore_errors=True)
    path = parent / export_id
    path.mkdir(parents=True)
    return path


def _prepare(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lake_export AS SELECT CAST(? AS TIMESTAMP) AS exported_at", [now]
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lake_list_prices (event_id VARCHAR, cost_without_cache_usd DOUBLE)"
    )


def _sql_str(value: str | os.PathLike[str]) -> str:
    return "'" + os.fspath(value).replace("'", "''") + "'"


def _copy_options(table: LakeTable, export_id: str) -> str:
    meta = {
        META_SCHEMA_VERSION: str(SCHEMA_VERSION),
        META_LAKE_VERSION: str(LAKE_FORMAT_VERSION),
        META_TABLE: table.name,
        META_EXPORT_ID: export_id,
        META_WRITTEN_BY: teamtape_version(),
    }
    kv = ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in meta.items())
    return f"FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{kv}}}"


def _stage_table(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    table: LakeTable,
    existing: pa.Table | None,
    staging: Path,
    export_id: str,
) -> int:
    """Write this table's new rows into ``staging/<table>/date=.../``; returns how many."""
    select = table.select_sql()
    keys = ", ".join(table.key)
    con.execute(f"CREATE OR REPLACE TEMP TABLE lake_keys AS SELECT {keys} FROM ({select}) LIMIT 0")
    if existing is not None and existing.num_rows:
        con.register("lake_keys_arrow", existing)
        con.execute("INSERT INTO lake_keys BY NAME SELECT * FROM lake_keys_arrow")
        con.unregister("lake_keys_arrow")
    if table.name == "llm_calls":
        _price_without_cache(con, store)
    new_rows = f"SELECT src.* FROM ({select}) src ANTI JOIN lake_keys USING ({keys})"
    options = _copy_options(table, export_id)
    target = staging / table.name
    spilled_rows = f"SELECT * FROM ({new_rows}) WHERE {_IS_SPILLED}" if table.name == "events" else None
    if spilled_rows:
        new_rows = f"SELECT * FROM ({new_rows}) WHERE NOT {_IS_SPILLED}"
    row = con.execute(
        f"COPY ({new_rows}) TO {_sql_str(target)} "
        f"({options}, PARTITION_BY (date), FILENAME_PATTERN 'part-{export_id}-{{i}}')"
    ).fetchall()
    n = int(row[0][0]) if row else 0
    if spilled_rows:  # the lake's source of truth holds large events whole, written one at a time
        n += _stage_spilled_events(con, store, spilled_rows, target, options, export_id)
    if n == 0 and existing is None:
        # Every table gets at least an empty part, so readers can bind its schema from day one.
        day = dt.datetime.now(dt.UTC).date().isoformat()
        empty = target / f"date={day}" / f"part-{export_id}-0.parquet"
        empty.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY (SELECT * EXCLUDE (date) FROM ({select}) LIMIT 0) TO {_sql_str(empty)} ({options})"
        )
    return n


_IS_SPILLED = """json_exists(payload, '$."$spilled"')"""


def _stage_spilled_events(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    spilled_rows: str,
    target: Path,
    options: str,
    export_id: str,
) -> int:
    """Write each new event kept whole in ``spill/`` with its whole payload (see teamtape.store.spill)."""
    ids = [r[0] for r in con.execute(f"SELECT DISTINCT event_id FROM ({spilled_rows}) ORDER BY 1").fetchall()]
    for large_index, event_id in enumerate(ids):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE lake_spilled AS SELECT * FROM ({spilled_rows}) WHERE event_id = ?",
            [event_id],
        )
        kind, stored = con.execute("SELECT kind, CAST(payload AS VARCHAR) FROM lake_spilled").fetchone()  # type: ignore[misc]
        whole = full_payload(store.root, kind, event_id, json.loads(stored))
        con.execute("UPDATE lake_spilled SET payload = ?", [json.dumps(whole, ensure_ascii=False)])
        apart = target.with_name(
            f"{target.name}-large-{large_index}"
        )  # COPY partitions only into a new folder
        con.execute(
            f"COPY (SELECT * FROM lake_spilled) TO {_sql_str(apart)} "
            f"({options}, PARTITION_BY (date), FILENAME_PATTERN 'part-{export_id}-large{large_index}-{{i}}')"
        )
        for part in apart.rglob("*.parquet"):
            destination = target / part.relative_to(apart)
            destination.parent.mkdir(parents=True, exist_ok=True)
            part.replace(destination)
        shutil.rmtree(apart, ignore_errors=True)
    con.execute("DROP TABLE IF EXISTS lake_spilled")
    return len(ids)


def _price_without_cache(con: duckdb.DuckDBPyConnection, store: Store) -> None:
    """Price the new LLM calls as if no token had been served from a cache (for savings panels)."""
    rows = con.execute(
        "SELECT event_id, model, provider, input_tokens, output_tokens, cost_usd, price_source "
        "FROM llm_calls ANTI JOIN lake_keys USING (event_id)"
    ).fetchall()
    if not rows:
        return
    # A call without token counts (e.g. failed before any usage) saved nothing, and one answered whole
    # from a cache (a replay, ChatCompletionCache) had no cached tokens to discount: keep its own cost.
    costs = [
        cost
        if (i is None and o is None) or source == "cache"
        else store.prices.price(model, provider, i, o, 0)[0]
        for _, model, provider, i, o, cost, source in rows
    ]
    prices = pa.table(
        {
            "event_id": pa.array([r[0] for r in rows], pa.string()),
            "cost_without_cache_usd": pa.array(costs, pa.float64()),
        }
    )
    con.register("lake_list_prices_arrow", prices)
    con.execute("INSERT INTO lake_list_prices SELECT * FROM lake_list_prices_arrow")
    con.unregister("lake_list_prices_arrow")


def _publish(loc: LakeLocation, staging: Path, table: LakeTable) -> list[str]:
    root = staging / table.name
    if not root.is_dir():
        return []
    written = []
    for file in sorted(root.rglob("*.parquet")):
        rel = f"{table.name}/{file.relative_to(root).as_posix()}"
        try:
            loc.publish(file, rel)
        except OSError as e:
            raise LakeError(f"Cannot write {rel} into the lake at {loc.display}: {e}") from e
        written.append(rel)
    return written


def _write_metadata(loc: LakeLocation, report: ExportReport, now: dt.datetime) -> None:
    if not loc.exists(META_DIR, "lake.json"):
        loc.write_text(
            json.dumps(
                {
                    "format": "teamtape-lake",
                    "lake_version": LAKE_FORMAT_VERSION,
                    "schema_version": SCHEMA_VERSION,
                    "written_by": teamtape_version(),
                    "tables": [t.name for t in LAKE_TABLES],
                },
                indent=2,
            ),
            META_DIR,
            "lake.json",
        )
    if report.parts:
        record = {
            **report.to_dict(),
            "exported_at": now.isoformat() + "Z",
            "schema_version": SCHEMA_VERSION,
            "lake_version": LAKE_FORMAT_VERSION,
        }
        loc.write_text(json.dumps(record, indent=2), META_DIR, "exports", f"{report.export_id}.json")
