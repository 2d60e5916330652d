"""DuckDB connections and schema migrations for the store file."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa

from .errors import SchemaVersionError, upgrade_hint

_MIGRATION_RE = re.compile(r"^v(\d{3})_.*\.sql$")


def _sql_dir() -> resources.abc.Traversable:
    return resources.files("teamtape.store") / "sql"


def load_sql(name: str) -> str:
    """A .sql file shipped with the package."""
    return (_sql_dir() / name).read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every migration, in order."""
    out = []
    for entry in (_sql_dir() / "migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            out.append((int(m.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(out)


def latest_store_version() -> int:
    return migrations()[-1][0]


def store_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open store (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_meta' AND database_name = current_database()"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_meta").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def teamtape_version() -> str:
    """The installed teamtape's version ("unknown" when it runs from a source tree without metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("teamtape")
    except PackageNotFoundError:
        return "unknown"


def _writer_of(con: duckdb.DuckDBPyConnection, schema: int) -> str | None:
    """The teamtape that brought a store to ``schema`` (recorded from schema 2 on), if known."""
    try:
        row = con.execute(
            "SELECT teamtape_version FROM schema_writers WHERE version = ? ORDER BY applied_at DESC LIMIT 1",
            [schema],
        ).fetchone()
    except duckdb.Error:
        return None
    return str(row[0]) if row and row[0] and row[0] != "unknown" else None


def migrate(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """Bring a store up to this teamtape's schema; refuse one written by a newer teamtape.

    Example:
        >>> con = duckdb.connect()
        >>> migrate(con, "memory") == latest_store_version()
        True
    """
    current = store_version(con)
    latest = latest_store_version()
    if current > latest:
        writer = _writer_of(con, current)
        raise SchemaVersionError(
            f"The store at {where} uses schema version {current}, but this teamtape ({teamtape_version()}) "
            f"understands up to version {latest}; {upgrade_hint(writer)}."
        )
    applied = False
    if current < latest:
        con.execute("CREATE TABLE IF NOT EXISTS schema_meta (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    for version, sql in migrations():
        if version > current:
            con.execute("BEGIN TRANSACTION")
            con.execute(sql)
            con.execute("INSERT INTO schema_meta VALUES (?, now())", [version])
            con.execute("COMMIT")
            applied = True
    if applied and latest >= 2:
        con.execute("INSERT INTO schema_writers VALUES (?, ?, now())", [latest, teamtape_version()])
    return latest


def rows_as_dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query, each as a dict keyed by column name."""
    cols = [d[0] for d in cursor.description or []]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


def arrow_query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pa.Table:
    """A query's result as an Arrow table, on DuckDB 1.x (``arrow``) and 2.x (``to_arrow_table``)."""
    relation = con.sql(sql, params=params) if params else con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()
