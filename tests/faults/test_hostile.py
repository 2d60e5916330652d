"""Hostile input: real AutoGen teams fed 10 MB messages, images, control characters, lone surrogates,
900-level JSON, NaN, values JSON cannot hold, and names made of SQL, quotes and escape sequences.

Each is recorded by a real process (peak memory measured there), then every way a user reads a store
is pointed at it: ``runs``, ``show`` (text and JSON), ``sql`` over every projection, the TUI's data
layer, ``export parquet`` / ``import``, ``export tape`` / ``import``.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fault_helpers import (
    ROOT,
    SCRIPT,
    _env,
    assert_clean_exit,
    done_info,
    event_ids,
    note,
    run_cli,
    spawn,
)

from teamtape.replay import read_tape
from teamtape.store import Store, open_store
from teamtape.tui._data import fetch_costs, fetch_detail, fetch_runs, fetch_timeline
from teamtape.tui._filter import RunFilter
from tests.support.hostile_teams import BAD_NAME, LABELS, RUN_NAME, SQL_SOURCE, WEIRD_TEXT

LIGHT_CASES = "image,unicode,nested,odd_values,names"
BIG_MB = 10
TABLES = (
    "runs",
    "messages",
    "llm_calls",
    "tool_calls",
    "handoffs",
    "memory_queries",
    "speaker_selections",
    "events",
    "blobs",
)
RAW_CONTROL = [chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\u202e", "\u202c", "\u2067"]  # + bidi


def record(store: Path, cases: str, mb: float = 0.0) -> dict[str, Any]:
    info, _ = done_info(spawn("hostile", str(store), cases, str(mb)), timeout=240)
    return info


@pytest.fixture(scope="module")
def light(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, Any]]:
    store = tmp_path_factory.mktemp("hostile") / "store"
    info = record(store, LIGHT_CASES)
    return open_store(store), info


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, Any], dict[str, Any]]:
    root = tmp_path_factory.mktemp("big")
    small = record(root / "small", "small")
    info = record(root / "store", "big", BIG_MB)
    return open_store(root / "store"), info, small


def runs_of(info: dict[str, Any], case: str) -> list[str]:
    return info["cases"][case]["run_ids"]


def cli(capsys: pytest.CaptureFixture[str], store: Path, *argv: str, code: int = 0, says: str = "") -> str:
    """``teamtape --store STORE ARGV`` in this process (an uncaught exception fails the test); its stdout."""
    got, out, err = run_cli(capsys, "--store", str(store), *argv)
    assert got == code and says in err, err
    return out


def read_everything(
    store: Store,
    run_ids: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    imports: bool = True,
) -> None:
    """Every reader a user has, on every run: none may fail, and recorded escapes never reach a terminal."""
    listing = json.loads(cli(capsys, store.root, "runs", "--all", "--json"))
    assert {r["run_id"] for r in listing["runs"]} >= set(run_ids)
    cli(capsys, store.root, "runs", "--all")
    for run_id in run_ids:
        shown = cli(capsys, store.root, "show", run_id)
        assert not any(c in shown for c in RAW_CONTROL)
        assert json.loads(cli(capsys, store.root, "show", run_id, "--json"))["run"]["run_id"] == run_id
        timeline = fetch_timeline(store, run_id)
        assert timeline is not None and timeline.entries
        for entry in timeline.entries:
            assert fetch_detail(store, run_id, entry.seq) is not None
        fetch_costs(store, run_id)
    assert fetch_runs(store).rows
    for table in TABLES:
        json.loads(cli(capsys, store.root, "sql", f"SELECT * FROM {table}", "--json"))
        printed = cli(capsys, store.root, "sql", f"SELECT * FROM {table}")
        assert not any(c in printed for c in RAW_CONTROL)

    lake, tape = tmp_path / "lake", tmp_path / "t.tape.json"
    cli(capsys, store.root, "export", "parquet", str(lake))
    cli(capsys, store.root, "export", "tape", run_ids[0], str(tape))
    if imports:
        cli(capsys, tmp_path / "from-lake", "import", str(lake))
        assert event_ids(open_store(tmp_path / "from-lake")) == event_ids(store)
        cli(capsys, tmp_path / "from-tape", "import", str(tape))
        taped = {e for e in event_ids(open_store(tmp_path / "from-tape")) if not e.startswith("blob-")}
        assert taped and taped <= set(event_ids(store))


def test_every_reader_copes_with_every_hostile_run(
    light: tuple[Store, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, info = light
    run_ids = [r for case in info["cases"].values() for r in case["run_ids"]]
    read_everything(store, run_ids, tmp_path, capsys)
    note("bad inputs tried: hostile team runs", len(run_ids))


def test_an_image_is_kept_once_as_a_blob_and_comes_back_whole(light: tuple[Store, dict[str, Any]]) -> None:
    from PIL import Image as PILImage

    store, info = light
    (run_id,) = runs_of(info, "image")
    content = json.loads(
        store.query(
            "SELECT payload->'$.content' AS c FROM events WHERE run_id = ? AND kind = 'message' ORDER BY seq LIMIT 1",
            [run_id],
        )[0]["c"]
    )
    image_ref = next(part for part in content if isinstance(part, dict))
    assert image_ref["type"] == "image"
    data = store.blobs([image_ref["$blob"]])[image_ref["$blob"]]
    picture = PILImage.open(io.BytesIO(base64.b64decode(data)))
    assert picture.size == (256, 192) and picture.getpixel((0, 0)) == (255, 255, 255)


def test_text_of_every_kind_is_recorded_exactly(light: tuple[Store, dict[str, Any]]) -> None:
    store, info = light
    echo_run, lister_run = runs_of(info, "unicode")
    said = store.query("SELECT content FROM messages WHERE run_id = ? AND source = 'echo'", [echo_run])
    assert said == [{"content": WEIRD_TEXT}], "NUL, bidi, escapes, markup and emoji kept as they were"

    # The tool's result holds lone surrogates: the openai SDK cannot send it on, so the run failed there,
    # and the store says so, with the result itself safely represented.
    run = store.query("SELECT status, error FROM runs WHERE run_id = ?", [lister_run])[0]
    assert info["cases"]["unicode"]["outcomes"][1]["error"].startswith("RuntimeError: UnicodeEncodeError")
    assert run["status"] == "error" and "UnicodeEncodeError" in run["error"]
    result = store.query("SELECT result FROM tool_calls WHERE run_id = ?", [lister_run])[0]["result"]
    assert result == "inbox: " + BAD_NAME.encode("utf-8", "backslashreplace").decode() + ", notes.txt"


def test_deep_json_odd_numbers_and_opaque_values_are_recorded(light: tuple[Store, dict[str, Any]]) -> None:
    store, info = light
    (nested,) = runs_of(info, "nested")
    arguments = store.query("SELECT arguments FROM tool_calls WHERE run_id = ?", [nested])[0]["arguments"]
    depth, node = 0, json.loads(arguments)
    while isinstance(node, dict):
        node, depth = next(iter(node.values())), depth + 1
    assert depth == 901 and info["cases"]["nested"]["outcomes"][0]["messages"][-2] == "ToolCallSummaryMessage"

    (odd,) = runs_of(info, "odd_values")
    calls = store.query("SELECT tool, arguments, result FROM tool_calls WHERE run_id = ? ORDER BY seq", [odd])
    assert [c["tool"] for c in calls] == ["odd_result", "read_blob", "nothing", "odd_result"]
    assert "NaN" in calls[0]["arguments"] and "Infinity" in calls[3]["arguments"]
    assert "<Opaque object>" in calls[0]["result"] and "\\xff\\xfe" in calls[1]["result"]


def test_names_made_of_sql_quotes_and_escapes_are_data(
    light: tuple[Store, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, info = light
    good, bad = runs_of(info, "names")
    row = store.query("SELECT name, labels, status FROM runs WHERE run_id = ?", [good])[0]
    assert row["name"] == RUN_NAME and json.loads(row["labels"]) == LABELS and row["status"] == "ok"
    assert store.query("SELECT DISTINCT tool FROM tool_calls WHERE run_id = ?", [good]) == [
        {"tool": "DROP-TABLE-runs--select"}
    ]
    assert {r["agent"] for r in store.query("SELECT agent FROM llm_calls WHERE run_id = ?", [good])} == {
        "select",
        "from_",
    }
    failed = store.query("SELECT status, error FROM runs WHERE run_id = ?", [bad])[0]
    assert failed["status"] == "error" and "Invalid name" in failed["error"]
    assert store.query("SELECT source FROM messages WHERE run_id = ?", [bad])[0]["source"] == SQL_SOURCE

    # Hostile text where a user types a RUN, a filter or a lake run: parameters, never SQL.
    before = store.query("SELECT count(*) AS n FROM runs")[0]["n"]
    for ref in ("' OR 1=1 --", SQL_SOURCE, "%", "_", '"; DROP TABLE runs; --'):
        cli(capsys, store.root, "show", ref, code=2, says="No run")  # a RUN prefix is literal, % and _ too
    for words in ("' OR 1=1 --", '"; DROP TABLE runs; --', "a%b", "R_undRobin"):  # % and _ are no wildcards
        assert fetch_runs(store, RunFilter(words=(words,))).rows == [], words
    assert fetch_runs(store, RunFilter(team=("RoundRobin",))).rows
    assert len(fetch_runs(store, RunFilter(team=("' OR 1=1 --",))).rows) == 0
    lake = tmp_path / "lake"
    cli(capsys, store.root, "export", "parquet", str(lake))
    cli(capsys, tmp_path / "copy", "import", str(lake), "--run", "' OR 1=1 --", code=2, says="No run")
    assert store.query("SELECT count(*) AS n FROM runs")[0]["n"] == before
    note("bad inputs tried: hostile run references and filters", 11)


@pytest.mark.slow
def test_a_10_mb_message_is_recorded_whole_in_bounded_memory(
    big: tuple[Store, dict[str, Any], dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, info, small = big
    size = BIG_MB * 1024 * 1024
    (run_id,) = runs_of(info, "big")
    assert info["cases"]["big"]["outcomes"][0]["messages"] == ["TextMessage", "TextMessage"]
    extra_mb = info["max_rss_mb"] - small["max_rss_mb"]
    note("memory: recording a 10 MB task + 10 MB answer, extra peak RSS (MB)", round(extra_mb))
    # Measured 167 MB, about 125 MB of which AutoGen, the OpenAI SDK and the scripted server take with no
    # recording; 208 MB while the end of a run still encoded its (omitted) state twice.
    assert extra_mb < 20 * BIG_MB, f"recording held {extra_mb:.0f} MB more than a tiny run"

    # The first reader folds the journal (about 2.5 bytes stored per byte of content: the task, the model's
    # request and response and the two messages; the saved state, which repeats them all, is left out)
    # in batches, and shows the run.
    reader = subprocess.run(
        [sys.executable, str(SCRIPT), "cli", "--store", str(store.root), "show", run_id, "--json"],
        capture_output=True,
        text=True,
        env=_env({"TT_REPORT_RSS": "1"}),
        cwd=ROOT,
        timeout=120,
    )
    assert_clean_exit(reader)
    reader_mb = float(reader.stderr.split("PEAK_RSS_MB")[1].split()[0])
    note(
        "memory: first `teamtape show --json` (fold included) of the 10 MB run, peak RSS (MB)",
        round(reader_mb),
    )
    assert reader_mb < 80 * BIG_MB, "measured 0.44 GB (1.5 GB before folds went in batches)"
    # DuckDB holds a preview of each 10 MB value, saying where the whole of it is (see teamtape.store.spill).
    shown = store.query("SELECT source, content FROM messages WHERE run_id = ? ORDER BY seq", [run_id])
    assert [m["source"] for m in shown] == ["user", "reader"]
    for message in shown:
        assert (
            len(message["content"]) < 64 * 1024
            and "more characters: the whole value is in spill/" in message["content"]
        )
    spilled = sum(p.stat().st_size for p in (store.root / "spill").iterdir()) / 1048576
    note("memory: stored payload bytes per byte of content (10 MB case)", round(spilled / (2 * BIG_MB), 1))
    assert spilled < 3 * 2 * BIG_MB, "each 10 MB text is stored where it is needed, not repeated"
    ended = store.query(
        "SELECT payload->'$.state_omitted' AS o FROM events WHERE run_id = ? AND kind = 'run_ended'", [run_id]
    )[0]["o"]
    assert json.loads(ended)["bytes"] > 4 * size, (
        "the state snapshot repeats the history: left out, with its size"
    )
    read_everything(store, [run_id], tmp_path, capsys, imports=False)
    taped = [
        e.payload for r in read_tape(tmp_path / "t.tape.json").runs for e in r.events if e.kind == "message"
    ]
    assert [len(m["content"]) for m in taped] == [size, size], "a tape (for replay) holds every byte"
