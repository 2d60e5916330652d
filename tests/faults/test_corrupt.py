"""Damaged files: a journal, a Parquet part, the DuckDB file, a tape.

Each is damaged the ways disks and people damage files (cut short, zeroed, overwritten, bytes flipped)
and handed to the command that reads it. The answer is a clear error naming the file, or the good
part kept with a warning; never a traceback, never the good part silently dropped.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_helpers import all_events, event_ids, journal_only_copy, note, projection_summary, run_cli

from teamtape.store import Store, open_store
from teamtape.store.lake import export_lake

Damage = Callable[[bytes], bytes]


def flip(start: float, end: float) -> Damage:
    def damage(data: bytes) -> bytes:
        out = bytearray(data)
        for i in range(int(len(data) * start), int(len(data) * end)):
            out[i] ^= 0xA5
        return bytes(out)

    return damage


CUT_IN_HALF: Damage = lambda data: data[: len(data) // 2]  # noqa: E731
EMPTY: Damage = lambda data: b""  # noqa: E731
TEXT: Damage = lambda data: b"this is not what you think it is\n"  # noqa: E731
DAMAGES = {
    "cut-in-half": CUT_IN_HALF,
    "empty": EMPTY,
    "text": TEXT,
    "flipped-data": flip(0.02, 0.5),
    "flipped-footer": flip(0.93, 0.99),
}


# -- the DuckDB file --------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["cut-in-half", "empty", "text", "flipped-header"])
def test_a_damaged_database_is_named_and_the_way_out_works(
    demo_store: Store, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    journal_only_copy(demo_store, demo_store.root / "scratch")
    late = open_store(
        demo_store.root
    ).writer()  # a recording process still running: its events are not folded yet
    shutil.copy(next((demo_store.root / "scratch" / "journal").iterdir()), late.path)
    db = demo_store.layout.db
    data = db.read_bytes()
    db.write_bytes(flip(0.0015, 0.0026)(data) if damage == "flipped-header" else DAMAGES[damage](data))
    try:
        for argv in (
            ["runs"],
            ["show", "last"],
            ["cost"],
            ["export", "tape", "last", str(demo_store.root / "t.json")],
        ):
            code, _, err = run_cli(capsys, "--store", str(demo_store.root), *argv)
            assert code == 2, argv
            assert f"{db} is not a readable teamtape database" in err and "Move it aside" in err
        db.rename(db.with_name(db.name + ".broken"))  # what the message says to do
        code, out, _ = run_cli(capsys, "--store", str(demo_store.root), "runs", "--json")
        assert code == 0 and len(json.loads(out)["runs"]) > 0, "journals not folded yet come back"
    finally:
        late.close()
    note("bad inputs tried: damaged database files", 1)


# -- journals ---------------------------------------------------------------------------------------------
def test_a_journal_cut_mid_line_keeps_every_whole_line(
    demo_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    journal, events = journal_only_copy(demo_store, target)
    data = journal.read_bytes()
    lines = data.split(b"\n")[:-1]
    start = len(data) - len(lines[-1]) - 1
    cut = start + len(lines[-1]) // 2  # half of the last line (run_ended of the last run)
    journal.write_bytes(data[:cut])
    with pytest.warns(UserWarning, match=r"1 unreadable line\(s\) in journal .* kept in .*quarantine"):
        open_store(target).sync()
    kept = open_store(target).query(
        "SELECT event_id FROM events WHERE kind <> 'run_crashed' ORDER BY event_id"
    )
    assert [r["event_id"] for r in kept] == sorted(e.event_id for e in events[:-1])
    code, out, _ = run_cli(capsys, "--store", str(target), "runs", "--json", "--all")
    assert code == 0 and any(r["status"] == "crashed" for r in json.loads(out)["runs"])
    torn = (target / "quarantine" / f"{journal.name}.bad").read_bytes()
    assert torn.rstrip(b"\n") == data[start:cut], "the torn line is kept for the user, not thrown away"
    note("bad inputs tried: damaged journals", 1)


def test_a_journal_that_cannot_be_read_is_reported_and_the_others_fold(
    demo_store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    journal_only_copy(demo_store, target)
    (target / "journal" / "zz-not-a-file.jsonl").mkdir()  # e.g. left by a broken sync tool
    with pytest.warns(UserWarning, match="could not read journal .*zz-not-a-file.jsonl"):
        open_store(target).sync()
        assert projection_summary(open_store(target)) == projection_summary(demo_store)


@pytest.mark.parametrize("where", ["tail", "middle"])
def test_zeroed_blocks_in_a_journal_cost_only_the_lines_they_overwrite(
    demo_store: Store, tmp_path: Path, where: str
) -> None:
    """After a machine crash some filesystems show a journal's unwritten blocks as NUL bytes."""
    target = tmp_path / "target"
    journal, events = journal_only_copy(demo_store, target)
    data = journal.read_bytes()
    if where == "tail":
        journal.write_bytes(data + b"\0" * 4096)
        touched: set[int] = set()
    else:
        start = len(data) // 2
        journal.write_bytes(data[:start] + b"\0" * 512 + data[start + 512 :])
        first, last = data.count(b"\n", 0, start), data.count(b"\n", 0, start + 512)
        touched = set(range(first, last + 1))
    with pytest.warns(UserWarning, match="unreadable line"):
        open_store(target).sync()
    kept = open_store(target).query(
        "SELECT event_id FROM events WHERE kind <> 'run_crashed' ORDER BY event_id"
    )
    assert [r["event_id"] for r in kept] == sorted(
        e.event_id for i, e in enumerate(events) if i not in touched
    )


# -- Parquet parts ------------------------------------------------------------------------------------------
@pytest.fixture
def lake(demo_store: Store, tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    export_lake(demo_store, path)
    return path


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("table", ["events", "messages"])
def test_a_damaged_lake_part_is_named_on_import_and_export(
    demo_store: Store, lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, table: str
) -> None:
    part = sorted((lake / table).rglob("*.parquet"))[0]
    part.write_bytes(DAMAGES[damage](part.read_bytes()))
    target = tmp_path / "target"
    code, _, err = run_cli(capsys, "--store", str(target), "import", str(lake))
    if table == "events":
        assert code == 2 and str(part) in err, err
        assert open_store(target).query("SELECT count(*) AS n FROM events")[0]["n"] == 0, "all or nothing"
    else:  # import reads only the events table: a damaged projection part does not matter to it
        assert code == 0 and event_ids(open_store(target)) == event_ids(demo_store)
    code, _, err = run_cli(capsys, "--store", str(demo_store.root), "export", "parquet", str(lake))
    if code != 0:  # export reads the key columns of existing parts; damage elsewhere in a part passes
        assert code == 2 and str(lake) in err and "Cannot read" in err, err
    note("bad inputs tried: damaged Parquet parts", 2)


# -- tapes --------------------------------------------------------------------------------------------------
def test_a_damaged_tape_is_named(
    demo_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tape = tmp_path / "run.tape.json"
    assert run_cli(capsys, "--store", str(demo_store.root), "export", "tape", "last", str(tape))[0] == 0
    text = tape.read_bytes()
    target = tmp_path / "target"
    tried = 0
    for fraction in (0.0, 0.01, 0.3, 0.5, 0.77, 0.999):
        tape.write_bytes(text[: int(len(text) * fraction)])
        code, _, err = run_cli(capsys, "--store", str(target), "import", str(tape))
        assert code == 2 and str(tape) in err and "not a teamtape tape" in err, err
        tried += 1
    for damage in ("flipped-data", "flipped-footer"):
        tape.write_bytes(DAMAGES[damage](text))
        code, _, err = run_cli(capsys, "--store", str(target), "import", str(tape))
        assert code == 2 and str(tape) in err, err
        tried += 1
    assert not open_store(target).query("SELECT count(*) AS n FROM events")[0]["n"]
    note("bad inputs tried: damaged tapes", tried)


def test_a_tape_of_hostile_shapes_is_refused_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    shapes = {
        "deeply nested": '{"teamtape_tape": 1, "runs": ' + deep + "}",
        "runs not a list": '{"teamtape_tape": 1, "runs": {"a": 1}}',
        "event not an object": '{"teamtape_tape": 1, "runs": [{"run_id": "r", "events": [1]}]}',
        "seq not a number": '{"teamtape_tape": 1, "runs": [{"run_id": "r", "events": [{"event_id": "e", "seq": "x", '
        '"ts": 1, "kind": "message"}]}]}',
        "blobs not objects": '{"teamtape_tape": 1, "runs": [], "blobs": {"h": 5}}',
        "version not a number": '{"teamtape_tape": "1"}',
        "not utf-8": b'{"teamtape_tape": 1, "runs": [], "x": "\xff\xfe"}',
    }
    for why, body in shapes.items():
        tape = tmp_path / "hostile.tape.json"
        tape.write_bytes(body if isinstance(body, bytes) else body.encode())
        code, _, err = run_cli(capsys, "--store", str(tmp_path / "s"), "import", str(tape))
        assert code == 2 and str(tape) in err, (why, err)
    note("bad inputs tried: hostile tape shapes", len(shapes))


def test_every_event_of_a_real_store_survives_the_round_trip_through_damage_free_files(
    demo_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control for the tests above: undamaged files give back exactly what was recorded."""
    tape, lake = tmp_path / "t.tape.json", tmp_path / "lake"
    assert run_cli(capsys, "--store", str(demo_store.root), "export", "parquet", str(lake))[0] == 0
    assert run_cli(capsys, "--store", str(tmp_path / "a"), "import", str(lake))[0] == 0
    assert event_ids(open_store(tmp_path / "a")) == event_ids(demo_store)
    assert run_cli(capsys, "--store", str(demo_store.root), "export", "tape", "last", str(tape))[0] == 0
    assert run_cli(capsys, "--store", str(tmp_path / "b"), "import", str(tape))[0] == 0
    imported = {e.event_id for e in all_events(open_store(tmp_path / "b")) if e.kind != "blob"}
    assert imported and imported <= set(event_ids(demo_store))


def test_the_quarantine_keeps_the_bad_line_itself_even_after_blank_lines(
    demo_store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    journal, events = journal_only_copy(demo_store, target)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(
        b"".join(lines[:3]) + b"\n  \n\t\n" + b"GARBAGE AFTER BLANK LINES\n" + b"".join(lines[3:])
    )
    with pytest.warns(UserWarning, match="1 unreadable line"):
        open_store(target).sync()
    assert (target / "quarantine" / f"{journal.name}.bad").read_bytes() == b"GARBAGE AFTER BLANK LINES\n"
    assert sorted(event_ids(open_store(target))) == sorted(e.event_id for e in events)


def test_a_deleted_database_is_noticed_not_silently_replaced(tmp_path: Path) -> None:
    """Deleting the database loses the runs folded into it: the next reader says so (once), keeps what
    journals still hold, and goes on working."""
    from teamtape.store.events import Event

    store = open_store(tmp_path / "store", create=True)
    writer = store.writer()
    writer.append(Event("e1", "folded0000000001", 0, 1732370400.0, "run_started", None, {"task": "first"}))
    writer.close()
    assert [r["task"] for r in store.query("SELECT task FROM runs")] == ["first"]
    store.layout.db.unlink()
    late = store.writer()  # a recording still going on: its journal is not folded yet
    late.append(Event("e2", "journal000000002", 0, 1732370500.0, "run_started", None, {"task": "second"}))
    with pytest.warns(
        UserWarning, match=r"teamtape\.duckdb is gone .*runs folded into it are not in this store"
    ):
        tasks = [r["task"] for r in open_store(store.root).query("SELECT task FROM runs")]
    assert tasks == ["second"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once: the new database is the store's from now on
        open_store(store.root).query("SELECT count(*) FROM runs")
    late.close()
