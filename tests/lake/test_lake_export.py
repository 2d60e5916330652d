"""`export parquet`: layout, metadata, incremental and idempotent exports, mutable runs, several stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from lake_support import add_run, end_run

from teamtape.store import SCHEMA_VERSION, Store, open_store
from teamtape.store.lake import LAKE_TABLES, export_lake

PART_RE = re.compile(r"^date=\d{4}-\d{2}-\d{2}/part-\d{8}T\d{12}Z-[0-9a-f]{6}-\d+\.parquet$")


def lake_rows(lake: Path, table: str, where: str = "") -> list[tuple]:
    con = duckdb.connect()
    return con.execute(
        f"SELECT * FROM read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning = true, union_by_name = true) "
        f"{where} ORDER BY ALL"
    ).fetchall()


def latest_runs(lake: Path) -> dict[str, dict]:
    """The runs table as a reader sees it: the latest snapshot of each run."""
    con = duckdb.connect()
    cur = con.execute(
        f"SELECT * FROM read_parquet('{lake}/runs/**/*.parquet', hive_partitioning = true) "
        "QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY exported_at DESC) = 1"
    )
    cols = [d[0] for d in cur.description]
    return {row[0]: dict(zip(cols, row)) for row in cur.fetchall()}


def snapshot(lake: Path) -> dict[str, tuple[int, bytes]]:
    """Every part file with its inode and bytes: proves parts are never rewritten."""
    return {
        str(p.relative_to(lake)): (p.stat().st_ino, p.read_bytes()) for p in sorted(lake.rglob("*.parquet"))
    }


def test_export_writes_every_table_partitioned_by_date_with_schema_version(
    recorded_lake: Path, recorded_store_dir: Path
) -> None:
    store = open_store(recorded_store_dir)
    for table in LAKE_TABLES:
        parts = sorted((recorded_lake / table.name).rglob("*.parquet"))
        assert parts, f"{table.name} has no part"
        for part in parts:
            assert PART_RE.match(part.relative_to(recorded_lake / table.name).as_posix()), part
            meta = pq.read_metadata(part)
            kv = {k.decode(): v.decode() for k, v in meta.metadata.items()}
            assert kv["teamtape.schema_version"] == str(SCHEMA_VERSION)
            assert kv["teamtape.table"] == table.name
            assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}
        n_store = store.query(f"SELECT count(*) AS n FROM {table.name}")[0]["n"]
        assert len(lake_rows(recorded_lake, table.name)) == n_store, table.name
    info = json.loads((recorded_lake / "_teamtape" / "lake.json").read_text())
    assert info["schema_version"] == SCHEMA_VERSION and info["format"] == "teamtape-lake"
    assert not list((recorded_lake / "_teamtape" / "staging").glob("*")), "staging left behind"


def test_lake_event_rows_equal_the_store(recorded_lake: Path, recorded_store_dir: Path) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{recorded_store_dir / 'teamtape.duckdb'}' AS s (READ_ONLY)")
    diff = con.execute(
        f"""SELECT count(*) FROM (
              (SELECT event_id, run_id, seq, ts, kind, agent, payload::VARCHAR, schema_version FROM s.events
               EXCEPT ALL
               SELECT event_id, run_id, seq, ts, kind, agent, payload::VARCHAR, schema_version
               FROM read_parquet('{recorded_lake}/events/**/*.parquet'))
              UNION ALL
              (SELECT event_id, run_id, seq, ts, kind, agent, payload::VARCHAR, schema_version
               FROM read_parquet('{recorded_lake}/events/**/*.parquet')
               EXCEPT ALL
               SELECT event_id, run_id, seq, ts, kind, agent, payload::VARCHAR, schema_version FROM s.events))"""
    ).fetchall()[0][0]
    assert diff == 0


def test_second_export_writes_nothing_and_later_ones_only_what_is_new(
    recorded_store: Store, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    first = export_lake(recorded_store, lake)
    assert first.rows["events"] > 100
    before = snapshot(lake)

    again = export_lake(recorded_store, lake)
    assert again.total_rows == 0 and again.parts == []
    assert snapshot(lake) == before

    run_id = add_run(recorded_store, name="late-run")
    third = export_lake(recorded_store, lake)
    assert third.rows == {"runs": 1, "messages": 1, "llm_calls": 1, "events": 4}
    after = snapshot(lake)
    assert {k: v for k, v in after.items() if k in before} == before, "an existing part changed"
    assert len(after) == len(before) + len(third.parts)
    assert len(lake_rows(lake, "events", f"WHERE run_id = '{run_id}'")) == 4
    records = sorted((lake / "_teamtape" / "exports").glob("*.json"))
    assert [json.loads(p.read_text())["rows"] for p in records] == [first.rows, third.rows]


def test_a_running_run_is_exported_as_a_snapshot_and_updated_when_it_ends(
    recorded_store: Store, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    writer = recorded_store.writer()
    run_id = add_run(recorded_store, name="long-run", end=False, writer=writer)
    export_lake(recorded_store, lake)
    assert latest_runs(lake)[run_id]["status"] == "running"

    end_run(writer, run_id)
    report = export_lake(recorded_store, lake)
    assert report.rows == {"runs": 1, "events": 1}
    latest = latest_runs(lake)[run_id]
    assert latest["status"] == "ok" and latest["stop_reason"] == "done"
    assert len(lake_rows(lake, "runs", f"WHERE run_id = '{run_id}'")) == 2, "both snapshots are kept"


def test_llm_calls_carry_what_they_would_have_cost_without_cache(recorded_lake: Path) -> None:
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT cache_read_tokens, cost_usd, cost_without_cache_usd FROM read_parquet('{recorded_lake}/llm_calls/**/*.parquet')"
        )
        .fetchall()
    )
    cached = [r for r in rows if r[0]]
    assert cached, "the demo's swarm scenario uses prompt caching"
    assert all(without > cost for _, cost, without in cached)
    assert all(
        without == pytest.approx(cost) for tokens, cost, without in rows if not tokens and cost is not None
    )


def test_two_stores_export_into_one_lake_and_readers_see_both(recorded_store: Store, tmp_path: Path) -> None:
    lake = tmp_path / "shared-lake"
    other = open_store(tmp_path / "other-host", create=True)
    other_run = add_run(other, name="other-host-run", model="gpt-4o-mini")
    export_lake(recorded_store, lake)
    export_lake(other, lake)
    runs = latest_runs(lake)
    n_recorded = recorded_store.query("SELECT count(*) AS n FROM runs")[0]["n"]
    assert other_run in runs and len(runs) == n_recorded + 1
    names = [p.name for p in lake.rglob("*.parquet")]
    assert len(names) == len(set(zip(names, [p.parent for p in lake.rglob("*.parquet")])))
    assert export_lake(other, lake).total_rows == 0


def test_export_to_a_file_path_says_what_to_do(recorded_store: Store, tmp_path: Path) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("x")
    from teamtape.store.lake import LakeError

    with pytest.raises(LakeError, match="is a file, not a lake directory"):
        export_lake(recorded_store, target)
    with pytest.raises(LakeError, match="use a local directory or s3://"):
        export_lake(recorded_store, "gs://bucket/lake")


def test_a_lake_from_a_newer_teamtape_is_refused(recorded_store: Store, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "_teamtape").mkdir(parents=True)
    (lake / "_teamtape" / "lake.json").write_text(json.dumps({"lake_version": 99, "written_by": "9.1.0"}))
    from teamtape.store.lake import LakeError

    with pytest.raises(LakeError, match=r"layout version 99.*pip install 'teamtape>=9.1.0'"):
        export_lake(recorded_store, lake)
    assert not list(lake.rglob("*.parquet")), "nothing may be written into a lake we cannot read"
    fresh = tmp_path / "fresh"
    export_lake(recorded_store, fresh)
    from teamtape.store.db import teamtape_version

    assert json.loads((fresh / "_teamtape" / "lake.json").read_text())["written_by"] == teamtape_version()
