"""The benchmark harness works end to end: ``python -m tests.bench.run --smoke`` writes a full report.

No timing is asserted (CI machines are noisy); what is checked is what a reader of BENCHMARKS.md
relies on: every section ran, each has its figures and ratios, goals carry a verdict, the machine
is described, and the repository's own BENCHMARKS.md is left alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.bench._harness import ROOT

pytestmark = pytest.mark.slow

SECTION_TITLES = (
    "## 1. Recorder overhead on a zero-latency team",
    "## 1b. Recorder overhead on AutoGen's OpenAI client",
    "## 2. Ingest: events into the store, bytes on disk",
    "## 3. Replay",
    "## 4. TUI: time to first paint",
    "## 5. Queries on",
    "## 6. Growth: one run from 1,000 to 100,000 events",
)


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    repo_report = ROOT / "BENCHMARKS.md"
    before = repo_report.read_bytes() if repo_report.exists() else None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", "--smoke", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    after = repo_report.read_bytes() if repo_report.exists() else None
    assert before == after, "the smoke run must not touch the repository's BENCHMARKS.md"
    return proc, out.read_text(encoding="utf-8") if out.exists() else ""


def test_every_section_runs(smoke_report: tuple[subprocess.CompletedProcess[str], str]) -> None:
    proc, report = smoke_report
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for title in SECTION_TITLES:
        assert title in report, f"missing section {title!r}"
    assert "failed to run" not in report


def test_report_states_machine_command_and_goals(
    smoke_report: tuple[subprocess.CompletedProcess[str], str],
) -> None:
    _, report = smoke_report
    assert "`python -m tests.bench.run --smoke --output" in report
    for fact in ("| CPU |", "| cores |", "| Python |", "| autogen-agentchat |", "| duckdb |"):
        assert fact in report
    goals = report.split("## Goals", 1)[1].split("## Machine", 1)[0]
    verdicts = re.findall(r"\*\*(pass|MISS)\*\*", goals)
    assert len(verdicts) >= 8, goals


def test_each_figure_has_a_ratio_against_its_reference(
    smoke_report: tuple[subprocess.CompletedProcess[str], str],
) -> None:
    _, report = smoke_report
    sections = report.split("\n## ")[3:]
    assert len(sections) == 7
    for body in sections:
        table = [line for line in body.splitlines() if line.startswith("| ")]
        assert len(table) >= 3, body
        assert re.search(r"\d\.\d\d×", "\n".join(table)), f"no ratio in: {body[:200]}"
    for overhead in sections[:2]:
        for variant in (
            "no recording",
            "content capture on",
            "content capture off",
            "OpenInference",
            "AutoGen runtime",
        ):
            assert variant in overhead
        assert "recorder failures: 0" in overhead
    assert "OpenInference as installed" in sections[0]


def test_bad_section_name_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", "--only", "overhead,speed"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown section(s) speed" in proc.stderr and "overhead, overhead-openai, ingest" in proc.stderr


def test_the_overhead_breakdown_builds_the_recorder_up_part_by_part() -> None:
    """``python -m tests.bench.breakdown`` prints one row per step, in order; only the last writes events."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.breakdown", "--rounds", "1", "--messages", "12"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = [
        line.split("|")[1].strip()
        for line in proc.stdout.splitlines()
        if re.match(r"\| (bare|wrappers|payloads|state|events) ", line)
    ]
    assert steps == ["bare", "wrappers", "payloads", "state", "events"], proc.stdout
    written = {m[1]: m[2] for m in re.finditer(r"^\| (\w+) \|.*\| ([\d,]+|–) \|$", proc.stdout, re.M)}
    assert written["bare"] == "–" and written["wrappers"] == written["payloads"] == written["state"] == "0", (
        proc.stdout
    )
    assert int(written["events"].replace(",", "")) > 12, "the last step records every event"
