"""Fixtures for the TUI tests: synthetic and demo-recorded stores, a fixed clock zone, screen text."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.support` lives beside the tests, not in the installed package
    sys.path.insert(0, str(ROOT))

from tests.support.screen import teamtape_exe  # noqa: E402
from tests.support.synthetic import SyntheticStore, build_synthetic_store  # noqa: E402


@pytest.fixture(autouse=True)
def utc_clock() -> Iterator[None]:
    """Times on screen are local time: pin the zone so snapshots and assertions are stable."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticStore:
    """12 top-level runs (one errored, one crashed, one with a nested run, sessions), about 600 events.

    Shared by the tests that only read it; tests that write get their own with :func:`fresh_synthetic`.
    """
    return build_synthetic_store(tmp_path_factory.mktemp("synthetic") / "store", runs=12, events=600)


@pytest.fixture
def fresh_synthetic(tmp_path: Path) -> SyntheticStore:
    return build_synthetic_store(tmp_path / "store", runs=6, events=240)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store recorded from the real AutoGen handbook teams by `teamtape demo` (offline, scripted HTTP)."""
    path = tmp_path_factory.mktemp("demo") / "store"
    subprocess.run(
        [teamtape_exe(), "demo", "--store", str(path)], check=True, capture_output=True, timeout=120
    )
    return path
