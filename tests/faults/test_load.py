"""Load with faults: four recording processes of eight concurrent teams each, two of them killed.

While they record, a live reader (the TUI's data layer) and a lake exporter work on the same store.
Every recording process prints each event the moment it is in its journal (a live sink), so the
test knows exactly what was emitted before a ``kill -9`` and can demand all of it back.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from fault_helpers import done_info, note, paused_cli, spawn

from teamtape.store import Event, IdFactory, open_store
from teamtape.store.lake import export_lake, import_lake
from teamtape.tui._data import fetch_runs, fetch_timeline

PROCESSES, TEAMS, KILLED = 4, 8, 2
KILL_AFTER_EVENTS = 60  # about a third of what one process emits


class Background:
    """A loop in a thread until stopped; counts its rounds and keeps the first error."""

    def __init__(self, work: Any) -> None:
        self.rounds = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._work = work
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._work()
            except BaseException as e:
                self.error = e
                return
            self.rounds += 1
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=60)
        if self.error is not None:
            raise self.error
        return self.rounds


def witnessed(lines: list[str]) -> dict[str, str]:
    """event_id -> run_id of every ``EV`` line."""
    out = {}
    for line in lines:
        if line.startswith("EV "):
            _, run_id, event_id = line.split()
            out[event_id] = run_id
    return out


def test_four_processes_two_killed_with_a_live_reader_and_exporter(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store", create=True)
    lake = tmp_path / "lake"
    procs = [spawn("witness", str(store.root), str(TEAMS), "0.03") for _ in range(PROCESSES)]

    def read() -> None:
        reader = open_store(store.root)
        for run in fetch_runs(reader).rows[:3]:
            fetch_timeline(reader, run.run_id)

    reader = Background(read)
    exporter = Background(lambda: export_lake(open_store(store.root), lake))

    seen: dict[int, list[str]] = defaultdict(list)
    for proc in procs[:KILLED]:  # read each victim's witness lines up to the kill point
        assert proc.stdout is not None
        while len([x for x in seen[proc.pid] if x.startswith("EV ")]) < KILL_AFTER_EVENTS:
            line = proc.stdout.readline()
            assert line, f"process ended before the kill: {proc.stderr.read() if proc.stderr else ''}"
            seen[proc.pid].append(line.strip())
        proc.kill()  # SIGKILL
    for proc in procs[:KILLED]:
        proc.wait(timeout=30)
        out, _ = proc.communicate(timeout=30)  # lines printed before the kill, still in the pipe
        seen[proc.pid] += out.splitlines()
    finished = []
    for proc in procs[KILLED:]:
        info, _ = done_info(proc)
        finished.append(info)
    reads, exports = reader.stop(), exporter.stop()
    export_lake(store, lake)

    events = {r["event_id"]: r for r in store.query("SELECT event_id, run_id, seq, kind FROM events")}
    runs = {r["run_id"]: r for r in store.query("SELECT run_id, journal, status, task, messages FROM runs")}
    by_pid: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for run in runs.values():
        by_pid[int(run["journal"].split("-")[-2])].append(run)

    # Killed processes: every event witnessed before the kill is in the store, in its own run.
    emitted_before_kill = {}
    for proc in procs[:KILLED]:
        emitted_before_kill.update(witnessed(seen[proc.pid]))
    lost = [
        eid for eid, rid in emitted_before_kill.items() if eid not in events or events[eid]["run_id"] != rid
    ]
    assert not lost, f"{len(lost)} events emitted before kill -9 are missing"
    killed_statuses: set[str] = set()
    for proc in procs[:KILLED]:
        own = by_pid[proc.pid]
        assert len(own) == TEAMS, "each killed process had started its eight runs"
        statuses = {r["status"] for r in own}
        assert statuses <= {"crashed", "ok"}, statuses
        killed_statuses |= statuses
    # A victim read after the first may, on a loaded machine, finish before its kill lands; the
    # first is killed the moment its witness lines arrive, mid-run.
    assert "crashed" in killed_statuses

    # Finished processes: exactly their runs, all ok, each with its own messages.
    for proc, info in zip(procs[KILLED:], finished):
        own = {r["run_id"]: r for r in by_pid[proc.pid]}
        assert set(own) == set(info["run_ids"]) and len(own) == TEAMS
        for run in own.values():
            assert run["status"] == "ok"
            assert run["messages"] == info["tasks"][run["task"]]

    # Every run's events are its own: seq 0..n-1 without gaps or repeats (a crash mark comes last).
    seqs: dict[str, list[int]] = defaultdict(list)
    for e in events.values():
        seqs[e["run_id"]].append(e["seq"])
    for run_id, found in seqs.items():
        assert sorted(found) == list(range(len(found))), f"run {run_id} has gaps or repeats: {sorted(found)}"
    mixed = store.query(
        """SELECT count(*) AS n FROM messages m JOIN runs r USING (run_id)
           WHERE m.source <> 'user' AND NOT starts_with(m.source, 't' || split_part(r.task, ' ', 2) || '_')"""
    )
    assert mixed[0]["n"] == 0

    # The lake written while all this happened holds every event once.
    copy = open_store(tmp_path / "from-lake", create=True)
    import_lake(copy, lake)
    assert sorted(r["event_id"] for r in copy.query("SELECT event_id FROM events")) == sorted(events)

    note("load: recording processes x concurrent teams", f"{PROCESSES} x {TEAMS} (2 killed mid-run)")
    note("load: events recorded under load", len(events))
    note("load: events emitted before kill -9 and checked", len(emitted_before_kill))
    note("load: events lost", len(lost))
    note("load: live reader rounds / lake exports during the load", f"{reads} / {exports}")
    assert reads > 0 and exports > 0


def test_a_run_that_ends_while_a_reader_folds_is_not_called_crashed(tmp_path: Path) -> None:
    """The writer finishes its run and exits between a reader's read of its journal and the reader's
    check for dead writers: the run is ok, with no crash mark and no repeated seq."""
    store = open_store(tmp_path / "store", create=True)
    writer, ids, run = store.writer(), IdFactory(), "0123456789abcdef"
    writer.append_many(
        [
            Event(
                ids.event_id(),
                run,
                0,
                time.time(),
                "run_started",
                None,
                {
                    "team_type": "RoundRobinGroupChat",
                    "task": "t",
                    "participants": ["a"],
                    "journal": writer.name,
                },
            ),
            Event(
                ids.event_id(),
                run,
                1,
                time.time(),
                "message",
                "a",
                {"type": "TextMessage", "source": "a", "text": "hi"},
            ),
        ]
    )
    reader = paused_cli(store.root, "call:teamtape.store.fold:_read_new_bytes", "runs", "--json")
    writer.append(
        Event(ids.event_id(), run, 2, time.time(), "run_ended", None, {"status": "ok", "duration_ms": 1.0})
    )
    writer.close()  # the recording process is done
    os.kill(reader.pid, signal.SIGUSR1)
    _, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err

    events = store.query("SELECT seq, kind FROM events ORDER BY seq")
    assert [e["kind"] for e in events] == ["run_started", "message", "run_ended"]
    assert store.query("SELECT status FROM runs")[0]["status"] == "ok"
    store.rebuild_projections()
    assert store.query("SELECT status FROM runs")[0]["status"] == "ok"
