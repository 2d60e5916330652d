"""Several processes, kill -9, and unwritable stores: what a flight recorder keeps when things go wrong."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from teamtape.store import open_store
from teamtape.tui._data import fetch_detail, fetch_timeline
from teamtape.tui._inspector import render_entry

SCRIPT = Path(__file__).parents[1] / "support" / "record_script.py"


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_kill_9_loses_nothing_emitted_and_the_run_shows_crashed(store_dir: Path) -> None:
    proc = spawn("slow", str(store_dir), "1000")
    seen = 0
    assert proc.stdout is not None
    while seen < 6:
        line = proc.stdout.readline()
        assert line, f"recording process ended early: {proc.stderr.read() if proc.stderr else ''}"
        if line.startswith("MSG"):
            seen = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    store = open_store(store_dir)
    runs = store.query("SELECT run_id, status, messages FROM runs")
    assert len(runs) == 1
    assert runs[0]["status"] == "crashed"
    assert runs[0]["messages"] >= seen, "every message the consumer saw before the kill is in the store"
    texts = [r["content"] for r in store.query("SELECT content FROM messages ORDER BY seq")]
    assert texts[0] == "go" and texts[1] == "thinking it over"
    # The store opens cleanly afterwards and keeps working.
    assert store.query("SELECT count(*) AS n FROM events")[0]["n"] > seen


def test_a_copied_store_does_not_make_up_a_wait(store_dir: Path, tmp_path: Path) -> None:
    """A process killed right after its last event, its store copied later (new file times): the run
    still ended at the kill. When a process was last alive is in its mark's content, not a file time."""
    proc = spawn("slow", str(store_dir), "1000")
    assert proc.stdout is not None
    while not proc.stdout.readline().startswith("MSG 4"):
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(4)
    copy = tmp_path / "copy"
    shutil.copytree(store_dir, copy, copy_function=shutil.copy)  # as `cp -r`: file times are now
    (run,) = open_store(copy).query("SELECT status, duration_ms, stop_reason FROM runs")
    assert run["status"] == "crashed" and run["duration_ms"] < 3000
    assert "after its last event" not in run["stop_reason"]
    assert not list((copy / "journal").iterdir()), "the dead journal and its alive mark are removed"


def test_a_journal_opened_again_after_close_is_marked_alive(store_dir: Path) -> None:
    """Recording that goes on after a recorder closed (a run still emitting) opens a new journal: that one
    is marked alive too."""
    from teamtape.recorder._recorder import Recorder
    from teamtape.store.journal import alive_path, last_alive

    recorder = Recorder(store_dir)
    recorder.append("r1", 0, "message", "a", {"text": "before"})
    first = recorder.journal_path
    recorder.close()
    recorder.append("r1", 1, "message", "a", {"text": "after"})
    second = recorder.journal_path
    assert first is not None and second is not None and second != first
    start = time.time()
    time.sleep(1.5)
    marked = last_alive(second)
    assert alive_path(second).exists() and marked is not None and marked >= start
    recorder.close()


def _show_last(store_dir: Path) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("teamtape")), "show", "last", "--store", str(store_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_run_killed_while_its_model_hung_shows_how_long_it_waited_and_on_what(store_dir: Path) -> None:
    """The model call that hung was sent, never answered: while the process waits, `show` says who is
    waiting on which model; after the kill, the run lasted until its process died and its reason
    names the call it was waiting on."""
    proc = spawn("hang", str(store_dir), "2")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "HANGING", f"{line!r} {proc.stderr.read() if proc.stderr else ''}"
    time.sleep(1.5)
    live = _show_last(store_dir)
    assert re.search(r"◆ llm  hang_\w gpt-4o-mini  waiting for the answer for \d", live), live
    time.sleep(3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    (run,) = open_store(store_dir).query("SELECT status, duration_ms, stop_reason FROM runs")
    assert run["status"] == "crashed"
    assert run["duration_ms"] >= 3000, "the run lasted until its process died, not until its last event"
    assert re.search(
        r"ended without finishing this run, \d s after its last event "
        r"\(waiting on a model call: hang_\w → gpt-4o-mini\)",
        run["stop_reason"],
    ), run["stop_reason"]
    after = _show_last(store_dir)
    assert re.search(r"gpt-4o-mini  no answer: the run ended while it waited", after), after
    # What the hung call asked is there to read: the TUI's inspector lists every message it sent.
    store = open_store(store_dir)
    (pending,) = store.query(
        "SELECT run_id, seq, agent, ts FROM events WHERE kind = 'llm_call_started' "
        "AND payload->>'$.call_id' NOT IN (SELECT call_id FROM llm_calls)"
    )
    detail = fetch_detail(store, pending["run_id"], pending["seq"])
    assert detail is not None and detail.request is not None
    sent = [m.get("content") for m in detail.request["messages"]]
    assert "go" in sent and "on it" in sent and len(sent) >= 3  # the system message, the task, the replies
    timeline = fetch_timeline(store, pending["run_id"])
    assert timeline is not None
    entry = next(e for e in timeline.entries if e.seq == pending["seq"])
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(render_entry(entry, entry.ts, detail))
    shown = console.export_text()
    assert f"Request: {len(sent)} message(s)" in shown and "none recorded yet" in shown


def test_four_processes_of_eight_teams_record_into_one_store(store_dir: Path) -> None:
    open_store(store_dir, create=True)
    procs = [spawn("concurrent", str(store_dir), "8") for _ in range(4)]
    reader = open_store(store_dir)
    reads = 0
    while any(p.poll() is None for p in procs):
        reader.query("SELECT count(*) FROM runs")  # a live reader never breaks the recorders
        reads += 1
        time.sleep(0.05)
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert reads > 0

    runs = {r["run_id"]: r for r in reader.query("SELECT run_id, task, status, messages FROM runs")}
    expected_ids = [rid for o in outputs for rid in o["run_ids"]]
    assert len(expected_ids) == 32 and set(expected_ids) == set(runs)
    for output in outputs:
        for run_id in output["run_ids"]:
            run = runs[run_id]
            assert run["status"] == "ok"
            assert run["messages"] == output["tasks"][run["task"]], "each run has exactly its own messages"
    # Each run's messages come from its own agents only.
    mixed = reader.query(
        """SELECT count(*) AS n FROM messages m JOIN runs r USING (run_id)
           WHERE m.source <> 'user' AND NOT starts_with(m.source, 't' || split_part(r.task, ' ', 2) || '_')"""
    )
    assert mixed[0]["n"] == 0


def test_store_path_that_is_a_file_never_breaks_the_team(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file")
    proc = subprocess.run(
        [sys.executable, "-W", "always", str(SCRIPT), "concurrent", str(blocker / "store"), "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(result["tasks"].values()) == [6, 6], "the teams finished as usual"
    assert proc.stderr.count("RecorderWarning") == 1, proc.stderr
    assert "cannot write to the store" in proc.stderr
