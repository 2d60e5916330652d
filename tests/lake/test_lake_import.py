"""`import`: a lake (or part of one) back into a store; export → import → export round-trips exactly."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lake_support import add_run

from teamtape.cli import main
from teamtape.store import ImportFileError, SchemaVersionError, open_store
from teamtape.store.lake import LAKE_TABLES, export_lake, import_lake

PROJECTION_CHECK = (
    "SELECT count(*) AS runs, round(sum(cost_usd) FILTER (WHERE parent_run_id IS NULL), 12) AS cost, "
    "list(status ORDER BY run_id) AS statuses, sum(llm_calls) AS calls, sum(tool_calls) AS tools FROM runs"
)


def table_contents(lake: Path, table: str, snapshots: bool) -> list[tuple]:
    # A reader's view: the latest snapshot of each run; exported_at is when, not what.
    latest = (
        "QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY exported_at DESC) = 1" if snapshots else ""
    )
    drop = " EXCLUDE (exported_at)" if snapshots else ""
    return (
        duckdb.connect()
        .execute(
            f"SELECT *{drop} FROM (SELECT * FROM read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning = true) "
            f"{latest}) ORDER BY ALL"
        )
        .fetchall()
    )


def test_export_import_export_round_trips_exactly(
    recorded_lake: Path, recorded_store_dir: Path, tmp_path: Path
) -> None:
    imported = open_store(tmp_path / "imported", create=True)
    report = import_lake(imported, recorded_lake)
    source = open_store(recorded_store_dir)
    n_events = source.query("SELECT count(*) AS n FROM events")[0]["n"]
    assert report.events == report.new_events == n_events
    assert imported.query(PROJECTION_CHECK) == source.query(PROJECTION_CHECK)

    second = tmp_path / "lake2"
    export_lake(imported, second)
    for table in LAKE_TABLES:
        again = table_contents(second, table.name, table.snapshots)
        original = table_contents(recorded_lake, table.name, table.snapshots)
        differences = [
            (i, [(x, y) for x, y in zip(a, b) if x != y])
            for i, (a, b) in enumerate(zip(again, original))
            if a != b
        ]
        assert len(again) == len(original) and not differences, (table.name, differences[:2])


def test_importing_twice_adds_nothing(recorded_lake: Path, tmp_path: Path) -> None:
    store = open_store(tmp_path / "store", create=True)
    first = import_lake(store, recorded_lake)
    again = import_lake(store, recorded_lake)
    assert first.new_events > 0 and again.new_events == 0 and again.events == first.events
    assert store.query("SELECT count(*) AS n FROM events")[0]["n"] == first.events


def test_import_one_run_brings_its_nested_runs(
    recorded_lake: Path, recorded_store_dir: Path, tmp_path: Path
) -> None:
    source = open_store(recorded_store_dir)
    parent = source.query("SELECT parent_run_id AS p FROM runs WHERE parent_run_id IS NOT NULL LIMIT 1")[0][
        "p"
    ]
    family = {
        r["run_id"]
        for r in source.query(
            "SELECT run_id FROM runs WHERE run_id = ? OR parent_run_id = ?", [parent, parent]
        )
    }
    store = open_store(tmp_path / "store", create=True)
    report = import_lake(store, recorded_lake, run=parent[:8])
    assert set(report.runs) == family and len(family) == 2
    assert {r["run_id"] for r in store.query("SELECT run_id FROM runs")} == family


def test_import_a_date_partition_and_date_filters(recorded_store, tmp_path: Path) -> None:
    old = add_run(recorded_store, name="last-year", ts=1_700_000_000.0)  # 2023-11-14
    lake = tmp_path / "lake"
    export_lake(recorded_store, lake)
    part = lake / "events" / "date=2023-11-14"
    assert part.is_dir()
    only_old = open_store(tmp_path / "a", create=True)
    assert import_lake(only_old, part).runs == [old]
    recent = open_store(tmp_path / "b", create=True)
    import datetime as dt

    assert old not in import_lake(recent, lake, since=dt.date(2024, 1, 1)).runs
    assert import_lake(open_store(tmp_path / "c", create=True), lake, until=dt.date(2023, 12, 31)).runs == [
        old
    ]


def test_imported_lines_are_redacted_like_recorded_ones(recorded_store, tmp_path: Path) -> None:
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    lake = tmp_path / "lake"
    export_lake(recorded_store, lake)
    # A lake written by someone else, whose events were never redacted:
    part = next((lake / "events").rglob("*.parquet"))
    table = pq.read_table(part)
    payload = table.column("payload").to_pylist()
    payload[0] = json.dumps({"text": f"my key is {secret}"})
    idx = table.schema.get_field_index("payload")
    pq.write_table(table.set_column(idx, "payload", pa.array(payload, pa.string())), part)
    store = open_store(tmp_path / "store", create=True)
    import_lake(store, lake)
    dump = json.dumps(store.query("SELECT payload::VARCHAR AS p FROM events"))
    assert secret not in dump and "[REDACTED]" in dump


def test_import_errors_say_what_to_do(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store", create=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFileError, match="holds no Parquet parts of teamtape events"):
        import_lake(store, empty)
    with pytest.raises(ImportFileError, match="There is no lake at"):
        import_lake(store, tmp_path / "missing")


def test_a_lake_from_a_newer_schema_is_refused(recorded_store, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    export_lake(recorded_store, lake)
    part = next((lake / "events").rglob("*.parquet"))
    table = pq.read_table(part)
    pq.write_table(
        table.replace_schema_metadata({"teamtape.schema_version": "99", "teamtape.table": "events"}), part
    )
    with pytest.raises(SchemaVersionError, match="event schema version 99"):
        import_lake(open_store(tmp_path / "store", create=True), lake)


def test_cli_import_dispatches_files_to_tape_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tape = tmp_path / "run.tape"
    tape.write_text("{}")
    assert main(["import", str(tape), "--store", str(tmp_path / "s")]) == 2
    assert "is not a teamtape tape" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "nope"), "--store", str(tmp_path / "s")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_export_then_import_json(
    recorded_store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    assert main(["export", "parquet", str(lake), "--store", str(recorded_store.root), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["rows"]["events"] > 0 and exported["parts"]
    assert main(["export", "parquet", str(lake), "--store", str(recorded_store.root)]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert main(["import", str(lake), "--store", str(tmp_path / "copy"), "--json"]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert imported["new_events"] == exported["rows"]["events"]
