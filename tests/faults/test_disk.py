"""The store's disk fails under a recording team: full, read-only, or its directory deleted mid-run.

In every case the team finishes exactly as it would unrecorded, the recorder warns once, and the
CLI afterwards either shows what was kept or says clearly what is wrong (never a traceback).
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
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
    note,
    remount,
    spawn,
    teamtape_cli,
    tmpfs,
    wait_for_line,
)

from teamtape.store import open_store

MESSAGES, KB = 40, 16  # ~2.5 MB of journal: more than the 2 MB disk holds


def recorder_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "RecorderWarning" in line]


def complete_lines(journal_dir: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in journal_dir.glob("*.jsonl"))


def fill_with_file_size_limit(store: Path, limit: int) -> subprocess.Popen[str]:
    """The fill team in a process whose files may not grow past ``limit`` bytes (EFBIG, kernel-enforced)."""

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen(
        [sys.executable, "-W", "always", str(SCRIPT), "fill", str(store), str(MESSAGES), str(KB)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=limit_files,
        cwd=ROOT,
    )


def check_team_unharmed(info: dict[str, Any], stderr: str, reason: str, messages: int = MESSAGES) -> None:
    assert info["messages"] == messages, "the team ran to its end"
    warnings = recorder_warnings(stderr)
    assert len(warnings) == 1, stderr[-3000:]
    assert reason in warnings[0] or reason in stderr, stderr[-3000:]


@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_a_full_disk_stops_the_recording_not_the_team(tmp_path: Path, how: str) -> None:
    if how == "tmpfs":
        with tmpfs(tmp_path / "disk", "2m") as disk:
            store = disk / "store"
            open_store(store, create=True)
            info, err = done_info(spawn("fill", str(store), str(MESSAGES), str(KB)))
            check_team_unharmed(info, err, "No space left on device")
            assert "events written before this are kept, the rest is not recorded; your team runs on" in err
            kept = complete_lines(store / "journal")
            full = teamtape_cli(store, "runs")  # the disk is still full
            assert "Traceback" not in full.stderr
            if full.returncode != 0:
                assert full.returncode == 2 and "No space left on device" in full.stderr, full.stderr
            remount(disk, "size=64m")  # the user makes room
            check_store_keeps_what_was_written(store, kept, info)
    else:
        store = tmp_path / "store"
        info, err = done_info(fill_with_file_size_limit(store, 1_000_000))
        check_team_unharmed(info, err, "File too large")
        check_store_keeps_what_was_written(store, complete_lines(store / "journal"), info)
    note("faults survived: full disk", 1)


def check_store_keeps_what_was_written(store: Path, kept: int, info: dict[str, Any]) -> None:
    shown = teamtape_cli(store, "runs", "--json")
    assert_clean_exit(shown)
    events = open_store(store).query("SELECT count(*) AS n FROM events WHERE kind <> 'run_crashed'")[0]["n"]
    assert events == kept, "every complete journal line reached the store"
    assert 0 < kept < info["events_written"] + 5
    run = open_store(store).query("SELECT status, messages FROM runs")[0]
    assert run["status"] == "crashed" and 0 < run["messages"] < MESSAGES + 1


def test_a_read_only_store_warns_once_and_can_still_be_browsed(tmp_path: Path, demo_store_dir: Path) -> None:
    with tmpfs(tmp_path / "disk", "64m") as disk:
        store = disk / "store"
        shutil.copytree(demo_store_dir, store)
        before = open_store(store).query("SELECT count(*) AS n FROM events")[0]["n"]
        remount(disk, "ro")
        info, err = done_info(spawn("fill", str(store), "6", "1"))
        check_team_unharmed(info, err, "Read-only file system", messages=6)
        assert "this run is not being recorded, but your team runs normally" in err
        # What was recorded before can still be browsed, with a warning that nothing new is folded.
        shown = teamtape_cli(store, "runs", "--all", "--json")
        assert_clean_exit(shown)
        assert len(json.loads(shown.stdout)["runs"]) > 0 and "is read-only for you" in shown.stderr
        counted = teamtape_cli(store, "sql", "SELECT count(*) AS n FROM events", "--json")
        assert_clean_exit(counted)
        assert json.loads(counted.stdout)["rows"] == [{"n": before}]
        remount(disk, "rw")
        assert open_store(store).query("SELECT count(*) AS n FROM events")[0]["n"] == before
    note("faults survived: read-only store", 1)


@pytest.fixture(scope="module")
def deleted_mid_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Any]:
    """A team recording into a store whose directory is deleted after its third message."""
    store = tmp_path_factory.mktemp("deleted") / "store"
    proc = spawn("fill", str(store), "30", "1")
    wait_for_line(proc, "MSG 3")
    shutil.rmtree(store)
    info, err = done_info(proc)
    return info, err, teamtape_cli(store, "runs")


def test_a_store_deleted_mid_run_never_breaks_the_team(
    deleted_mid_run: tuple[dict[str, Any], str, Any],
) -> None:
    info, _, cli = deleted_mid_run
    assert info["messages"] == 30
    assert_clean_exit(cli, 2)
    assert "No teamtape store at" in cli.stderr
    note("faults survived: store directory deleted mid-run", 1)


def test_a_store_deleted_mid_run_is_reported_once(deleted_mid_run: tuple[dict[str, Any], str, Any]) -> None:
    _, err, _ = deleted_mid_run
    assert len(recorder_warnings(err)) == 1, err[-2000:]
    assert "was deleted while recording" in err
