"""Store versions: older stores are migrated in place, newer ones refused with the teamtape to use.

Older stores are built with the real migration runner (``teamtape.store.db``) limited to the
migrations of that time; a store from the future is built the same way with one migration more,
applied by a teamtape that calls itself 9.9.0.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import duckdb
import pytest
from fault_helpers import journal_only_copy, note, projection_summary

from teamtape.cli import main
from teamtape.store import SCHEMA_VERSION, Event, IdFactory, SchemaVersionError, Store, fold, open_store
from teamtape.store import db as store_db

REAL_MIGRATIONS = store_db.migrations
REAL_LOAD_SQL = fold.load_sql
ADDED_SINCE_SCHEMA_1 = {
    # What the fold writes into the columns later schemas added: llm_calls.retries (4), runs.failed_calls (5).
    "project_new_events.sql": [(",\n       coalesce(json_array_length(l.p.retries), 0)", "")],
    "update_runs.sql": [
        ("events, journal, failed_calls)", "events, journal)"),
        ("s.p.journal, coalesce(k.failed_tools, 0) + coalesce(c.failed, 0)", "s.p.journal"),
        ("\n    failed_calls  = runs.failed_calls + excluded.failed_calls,", ""),
    ],
}


def fold_sql_of_schema_1(name: str) -> str:
    """The fold of the teamtape of schema version 1: none of the columns added since to write."""
    sql = REAL_LOAD_SQL(name)
    for added, before in ADDED_SINCE_SCHEMA_1.get(name, []):
        assert added in sql, f"the fold changed: say here what schema 1's {name} wrote instead of {added!r}"
        sql = sql.replace(added, before)
    return sql


def schema_rows(store: Store) -> list[int]:
    con = duckdb.connect(str(store.layout.db), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT version FROM schema_meta ORDER BY version").fetchall()]
    finally:
        con.close()


def test_an_empty_database_file_is_a_version_0_store_and_is_migrated(
    demo_store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    journal_only_copy(demo_store, target)
    duckdb.connect(str(target / "teamtape.duckdb")).close()  # a database file with no tables at all
    store = open_store(target)
    assert projection_summary(store) == projection_summary(demo_store)
    assert schema_rows(store) == [v for v, _ in REAL_MIGRATIONS()]
    writers = store.query("SELECT version, teamtape_version FROM schema_writers")
    assert writers == [
        {"version": store_db.latest_store_version(), "teamtape_version": store_db.teamtape_version()}
    ]


def test_a_version_1_store_with_runs_is_migrated_and_keeps_them(
    demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "v1"
    journal_only_copy(demo_store, target)
    with monkeypatch.context() as old_teamtape:  # the teamtape of schema version 1 folds the journals
        old_teamtape.setattr(store_db, "migrations", lambda: REAL_MIGRATIONS()[:1])
        old_teamtape.setattr(fold, "load_sql", fold_sql_of_schema_1)
        v1 = open_store(target)
        before = projection_summary(v1)
        assert schema_rows(v1) == [1]
    store = open_store(target)
    assert projection_summary(store) == before == projection_summary(demo_store)
    assert schema_rows(store) == [v for v, _ in REAL_MIGRATIONS()]
    # The SDK retries the demo's failing call made, noted in its events, are counted by the migration;
    # so are its failed calls (a tool that raised, the model call that got a 500).
    assert store.query("SELECT sum(retries) AS n FROM llm_calls") == [{"n": 2}]
    assert store.query("SELECT name, failed_calls FROM runs WHERE failed_calls > 0") == [
        {"name": "failing_tool_run", "failed_calls": 2}
    ]
    assert store.rebuild_projections() > 0 and projection_summary(store) == before
    note("faults survived: stores of an older schema migrated", 2)


@pytest.fixture
def future_store(demo_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The demo store after teamtape 9.9.0 added a schema version this teamtape does not know."""
    future = len(REAL_MIGRATIONS()) + 1
    with monkeypatch.context() as newer:
        newer.setattr(
            store_db,
            "migrations",
            lambda: [*REAL_MIGRATIONS(), (future, "CREATE TABLE future_things (x INTEGER);")],
        )
        newer.setattr(store_db, "teamtape_version", lambda: "9.9.0")
        open_store(demo_store.root).query("SELECT 1")
    return demo_store


def test_a_store_from_a_newer_teamtape_names_the_teamtape_to_use(
    future_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SchemaVersionError) as refused:
        future_store.query("SELECT count(*) FROM runs")
    message = str(refused.value)
    assert f"schema version {len(REAL_MIGRATIONS()) + 1}" in message and str(future_store.root) in message
    assert "teamtape 9.9.0 (or newer) wrote it: pip install 'teamtape>=9.9.0'" in message
    for argv in (
        ["runs"],
        ["sql", "SELECT 1"],
        ["show", "last"],
        ["export", "parquet", str(future_store.root / "l")],
    ):
        assert main(["--store", str(future_store.root), *argv]) == 2
        err = capsys.readouterr().err
        assert "teamtape>=9.9.0" in err and "Traceback" not in err
    assert schema_rows(future_store)[-1] == len(REAL_MIGRATIONS()) + 1, "the newer store was left alone"


def test_a_newer_store_without_a_known_writer_still_says_upgrade(demo_store: Store) -> None:
    con = duckdb.connect(str(demo_store.layout.db))
    con.execute("INSERT INTO schema_meta VALUES (99, now())")
    con.close()
    with pytest.raises(SchemaVersionError, match=r"version 99.*up to version \d+; upgrade teamtape"):
        demo_store.query("SELECT 1")


def test_events_of_a_newer_event_schema_are_kept_with_a_warning(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store", create=True)
    writer, ids = store.writer(), IdFactory()
    future = Event(
        ids.event_id(),
        "f" * 16,
        0,
        time.time(),
        "run_started",
        None,
        {"team_type": "FutureChat", "task": "t", "journal": writer.name, "hologram": {"x": 1}},
        schema_version=SCHEMA_VERSION + 1,
    )
    writer.append(future)
    writer.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.sync()
    assert any(
        "event schema version" in str(w.message) and "upgrade teamtape" in str(w.message) for w in caught
    )
    kept = store.query("SELECT schema_version, payload FROM events")
    assert kept[0]["schema_version"] == SCHEMA_VERSION + 1 and json.loads(kept[0]["payload"])["hologram"] == {
        "x": 1
    }
