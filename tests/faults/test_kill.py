"""``kill -9`` of teamtape's own processes: an export, an import, a reader folding journals.

Each process is stopped at a chosen point of its real code (a pause point) and killed there. After
the kill the store opens cleanly, nothing that was already in it or in a journal is lost, and running
the command again completes the job without duplicating anything.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import duckdb
import pytest
from fault_helpers import (
    assert_clean_exit,
    event_ids,
    journal_only_copy,
    kill9,
    note,
    paused_cli,
    projection_summary,
    teamtape_cli,
    wait_for_line,
)

from teamtape.store import Store, open_store
from teamtape.store.lake import export_lake


def lake_duplicates(lake: Path) -> dict[str, int]:
    """Rows whose key appears more than once, per keyed lake table (runs are snapshots: skipped)."""
    con = duckdb.connect()
    out = {}
    for table, key in (
        ("events", "event_id"),
        ("messages", "event_id"),
        ("llm_calls", "event_id"),
        ("blobs", "hash"),
    ):
        files = str(lake / table / "**" / "*.parquet")
        n, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT {key}) FROM read_parquet(?)", [files]
        ).fetchone()
        out[table] = n - distinct
    return out


@pytest.mark.parametrize("nth_part", [1, 4])
def test_a_killed_export_leaves_a_lake_that_the_next_export_completes(
    demo_store: Store, tmp_path: Path, nth_part: int
) -> None:
    lake = tmp_path / "lake"
    proc = paused_cli(demo_store.root, f"replace:{lake}/:{nth_part}", "export", "parquet", str(lake))
    kill9(proc)
    assert any(lake.rglob("*.parquet")), "the export was killed part-way, after publishing a part"

    assert_clean_exit(teamtape_cli(demo_store.root, "runs"))  # the store is unharmed
    assert_clean_exit(teamtape_cli(demo_store.root, "export", "parquet", str(lake)))
    assert lake_duplicates(lake) == {"events": 0, "messages": 0, "llm_calls": 0, "blobs": 0}

    fresh = tmp_path / "from-lake"
    assert_clean_exit(teamtape_cli(fresh, "import", str(lake)))
    assert event_ids(open_store(fresh)) == event_ids(demo_store)
    assert projection_summary(open_store(fresh)) == projection_summary(demo_store)


def test_a_lake_import_killed_mid_write_leaves_the_store_as_it_was(demo_store: Store, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    export_lake(demo_store, lake)
    target = tmp_path / "target"
    open_store(target, create=True)
    kill9(paused_cli(target, "write:/tmp/import-:20000", "import", str(lake)))
    (partial,) = (target / "tmp").glob("import-*.jsonl")

    with pytest.warns(UserWarning, match="left by an import that was stopped: run it again"):
        assert open_store(target).query("SELECT count(*) AS n FROM events")[0]["n"] == 0, "no half import"
    assert not partial.exists(), "the next reader removes what the killed import left half-written"
    assert_clean_exit(teamtape_cli(target, "import", str(lake)))
    assert event_ids(open_store(target)) == event_ids(demo_store)
    assert projection_summary(open_store(target)) == projection_summary(demo_store)


def test_a_lake_import_killed_after_its_journal_landed_is_completed_by_the_next_reader(
    demo_store: Store, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    export_lake(demo_store, lake)
    target = tmp_path / "target"
    kill9(paused_cli(target, "replace:/journal/import-:1", "import", str(lake)))
    assert projection_summary(open_store(target)) == projection_summary(demo_store)


def test_a_tape_import_killed_mid_write_is_completed_by_importing_again(
    demo_store: Store, tmp_path: Path
) -> None:
    tape = tmp_path / "session.tape.json"
    assert_clean_exit(teamtape_cli(demo_store.root, "export", "tape", "last", str(tape)))
    target = tmp_path / "target"
    kill9(paused_cli(target, "write:import-:5000", "import", str(tape)))

    reader = teamtape_cli(target, "runs", "--json")  # the store opens; what landed is readable
    assert_clean_exit(reader)
    assert_clean_exit(teamtape_cli(target, "import", str(tape)))
    again = open_store(target)
    expected = open_store(tmp_path / "expected", create=True)
    assert_clean_exit(teamtape_cli(expected.root, "import", str(tape)))
    assert event_ids(again) == event_ids(expected)
    assert projection_summary(again) == projection_summary(expected)


def test_a_reader_folding_concurrently_with_a_tape_import_loses_nothing(
    demo_store: Store, tmp_path: Path
) -> None:
    """`teamtape import TAPE` while a TUI or another command reads the store."""
    tape = tmp_path / "session.tape.json"
    assert_clean_exit(teamtape_cli(demo_store.root, "export", "tape", "last", str(tape)))
    target = open_store(tmp_path / "target", create=True)
    importer = paused_cli(target.root, "write:import-:5000", "import", str(tape))
    target.query("SELECT count(*) FROM runs")  # a live reader folds while the import is half written
    os.kill(importer.pid, signal.SIGUSR1)
    _, err = importer.communicate(timeout=60)
    assert importer.returncode == 0, err

    expected = open_store(tmp_path / "expected", create=True)
    assert_clean_exit(teamtape_cli(expected.root, "import", str(tape)))
    assert event_ids(target) == event_ids(expected)
    assert not target.layout.quarantine_dir.exists(), "no line of the tape was taken for garbage"


@pytest.mark.parametrize(
    ("pause", "segment_bytes"),
    [
        ("call:teamtape.store.fold:_project", ""),
        ("unlink:/journal/", ""),
        ("call:teamtape.store.fold:_stage:3", "16384"),
    ],
    ids=["inside-the-fold-transaction", "after-commit-before-journal-removal", "after-two-of-many-batches"],
)
def test_a_reader_killed_while_folding_loses_nothing_and_adds_nothing_twice(
    demo_store: Store, tmp_path: Path, pause: str, segment_bytes: str
) -> None:
    target = tmp_path / "target"
    journal, events = journal_only_copy(demo_store, target)
    if segment_bytes:
        assert journal.stat().st_size > 4 * int(segment_bytes), "the fold must take several batches"
    kill9(paused_cli(target, pause, "runs", env={"TT_FOLD_SEGMENT_BYTES": segment_bytes}))

    store = open_store(target)
    ids = event_ids(store)
    assert len(ids) == len(set(ids)) == len(events)
    assert sorted(ids) == sorted(e.event_id for e in events)
    assert projection_summary(store) == projection_summary(demo_store)
    assert not list(store.layout.journal_dir.iterdir()), "the dead journal was folded and removed"
    note("events checked after killed folds", len(events))


def test_kill_during_export_with_a_live_recorder_writing(demo_store: Store, tmp_path: Path) -> None:
    """A recording process keeps appending while an export is killed: its events reach the next export."""
    lake = tmp_path / "lake"
    writer = demo_store.writer()
    try:
        proc = paused_cli(demo_store.root, f"replace:{lake}/:2", "export", "parquet", str(lake))
        _, more = journal_only_copy(demo_store, tmp_path / "scratch")
        renamed = [e for e in more if e.kind == "message"][:5]
        for e in renamed:
            e.event_id = "late-" + e.event_id
        writer.append_many(renamed)
        kill9(proc)
    finally:
        writer.close()
    assert_clean_exit(teamtape_cli(demo_store.root, "export", "parquet", str(lake)))
    fresh = open_store(tmp_path / "from-lake", create=True)
    assert_clean_exit(teamtape_cli(fresh.root, "import", str(lake)))
    assert event_ids(fresh) == event_ids(demo_store)
    assert len([i for i in event_ids(fresh) if i.startswith("late-")]) == 5


def test_pause_points_really_pause(demo_store: Store, tmp_path: Path) -> None:
    """The pause hook is honest: without a kill, a resumed export finishes and writes the whole lake."""
    lake = tmp_path / "lake"
    proc = paused_cli(demo_store.root, f"replace:{lake}/:1", "export", "parquet", str(lake), "--json")
    os.kill(proc.pid, signal.SIGUSR1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert '"events"' in out
    assert wait_for_line is not None
