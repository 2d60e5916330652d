"""Events of many megabytes: folds stay bounded however many the store holds, and nothing is cut.

DuckDB rewrites and holds in memory whole row groups at its checkpoints, so a store that kept such
events in its tables would make every later fold hold all of them. They are kept whole in ``spill/``
with a preview in DuckDB; tapes and lakes carry every byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_helpers import SCRIPT, _env, assert_clean_exit, event_ids, note

from teamtape.replay import Tape
from teamtape.store import Event, open_store
from teamtape.store.lake import export_lake, import_lake

MB = 1024 * 1024
FOLDS = 5


def _record_huge_run(root: Path, run_id: str) -> str:
    """A journal with one run whose task and message are each 8 MB of random hex (which no redaction
    pattern can match, unlike random base64, where ``AIza...`` would read as a Google key)."""
    text = os.urandom(4 * MB).hex()
    ts = time.time()
    writer = open_store(root).writer()
    writer.append_many(
        [
            Event(
                f"{run_id}-0",
                run_id,
                0,
                ts,
                "run_started",
                None,
                {"name": "huge", "team_type": "X", "task": text},
            ),
            Event(
                f"{run_id}-1",
                run_id,
                1,
                ts,
                "message",
                "user",
                {"type": "TextMessage", "source": "user", "content": text},
            ),
            Event(f"{run_id}-2", run_id, 2, ts, "run_ended", None, {"status": "ok"}),
        ]
    )
    writer.close()
    return text


def _fold_peak_mb(root: Path) -> float:
    """Peak RSS of a fresh `teamtape runs`, which folds the new journals first."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "cli", "--store", str(root), "runs", "--json"],
        capture_output=True,
        text=True,
        env=_env({"TT_REPORT_RSS": "1"}),
        timeout=120,
    )
    assert_clean_exit(done)
    return float(done.stderr.split("PEAK_RSS_MB")[1].split()[0])


@pytest.mark.slow
def test_folds_stay_bounded_as_huge_events_pile_up_and_every_byte_comes_back(tmp_path: Path) -> None:
    root = tmp_path / "store"
    open_store(root, create=True)
    texts, peaks = {}, []
    for i in range(FOLDS):
        texts[f"huge{i}"] = _record_huge_run(root, f"huge{i}")
        peaks.append(_fold_peak_mb(root))
    note(
        "memory: fold peak RSS (MB) after 1 and after 5 runs of 16 MB events",
        f"{peaks[0]:.0f} / {peaks[-1]:.0f}",
    )
    assert peaks[-1] < peaks[0] + 40, f"each fold held the huge events folded before it: {peaks}"

    store = open_store(root)
    preview = store.query("SELECT content FROM messages WHERE run_id = 'huge0'")[0]["content"]
    assert len(preview) < 64 * 1024 and "the whole value is in spill/ev-huge0-1.json" in preview
    assert {p.stat().st_mode & 0o777 for p in (root / "spill").iterdir()} == {0o600}

    def whole_texts(tape: Tape) -> dict[str, str]:
        return {r.run_id: e.payload["content"] for r in tape.runs for e in r.events if e.kind == "message"}

    assert whole_texts(Tape.from_runs(store, list(texts))) == texts, "a tape for replay holds every byte"
    export_lake(store, tmp_path / "lake")
    copy = open_store(tmp_path / "copy", create=True)
    import_lake(copy, tmp_path / "lake")
    assert event_ids(copy) == event_ids(store)
    assert whole_texts(Tape.from_runs(copy, list(texts))) == texts, "a lake holds every byte"


def _append_lines(root: Path, *events: dict) -> None:
    journal = root / "journal" / f"vm-1-{os.urandom(4).hex()}.jsonl"
    journal.write_text("".join(json.dumps(e) + "\n" for e in events))
    journal.chmod(0o600)


def _event(event_id: str, seq: int, kind: str, payload: dict) -> dict:
    return {
        "event_id": event_id,
        "run_id": "r1",
        "seq": seq,
        "ts": time.time(),
        "kind": kind,
        "agent": None,
        "payload": payload,
        "schema_version": 1,
    }


def test_a_large_event_python_cannot_parse_is_kept_whole_and_the_fold_goes_on(tmp_path: Path) -> None:
    """DuckDB reads a 5,000-digit number; Python's JSON parser refuses it: the fold must not stop there."""
    store = open_store(tmp_path / "store", create=True)
    huge_number = "9" * 5000
    payload = json.dumps({"type": "TextMessage", "content": "x" * (2 * MB), "n": 0}).replace(
        '"n": 0', f'"n": {huge_number}'
    )
    line = json.dumps(_event("e1", 0, "message", {})).replace('"payload": {}', f'"payload": {payload}')
    (tmp_path / "store" / "journal" / "vm-1-a.jsonl").write_text(line + "\n")

    assert store.sync().events == 1
    stored = json.loads(store.query("SELECT CAST(payload AS VARCHAR) AS p FROM events")[0]["p"])
    assert stored["$spilled"]["bytes"] > 2 * MB and "TextMessage" in stored["$preview"]
    kept = (tmp_path / "store" / "spill" / "ev-e1.json").read_text()
    assert len(kept) > 2 * MB and huge_number in kept, "kept whole, every digit"
    with pytest.warns(UserWarning, match="cannot be read"):
        (event,) = Tape.from_runs(store, ["r1"]).runs[0].events
    assert "$preview" in event.payload, (
        "a reader Python cannot parse it for gets the preview, and is told why"
    )


def test_a_blob_imported_later_with_a_known_hash_never_replaces_the_one_kept(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store", create=True)
    message = {
        "type": "MultiModalMessage",
        "source": "user",
        "content": [{"type": "image", "$blob": "abc123"}],
    }
    _append_lines(
        tmp_path / "store",
        _event("r1-0", 0, "run_started", {"name": "kept"}),
        _event("r1-1", 1, "blob", {"hash": "abc123", "media_type": "image/png;base64", "data": "REAL"}),
        _event("r1-2", 2, "message", message),
    )
    store.sync()
    forged = {"hash": "abc123", "media_type": "image/png;base64", "data": "FORGED" * (MB // 3)}
    _append_lines(tmp_path / "store", {**_event("forger-1", 0, "blob", forged), "run_id": "forger"})
    store.sync()
    assert (tmp_path / "store" / "spill" / "blob-abc123.json").exists(), "the forged blob was large: spilled"
    assert Tape.from_runs(store, ["r1"]).blobs["abc123"]["data"] == "REAL"


def test_an_event_naming_another_events_spill_file_does_not_get_its_content(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store", create=True)
    secret_text = "kept for run r1 only " * (MB // 10)
    _append_lines(
        tmp_path / "store", _event("e1", 0, "message", {"type": "TextMessage", "content": secret_text})
    )
    borrowed = {
        "type": "TextMessage",
        "content": "mine",
        "$spilled": {"file": "spill/ev-e1.json", "bytes": 1},
    }
    _append_lines(tmp_path / "store", {**_event("e2", 0, "message", borrowed), "run_id": "r2"})
    store.sync()
    assert (tmp_path / "store" / "spill" / "ev-e1.json").exists()
    (event,) = Tape.from_runs(store, ["r2"]).runs[0].events
    assert event.payload["content"] == "mine", "only an event's own spill file is read back into it"
    (whole,) = Tape.from_runs(store, ["r1"]).runs[0].events
    assert whole.payload["content"] == secret_text
