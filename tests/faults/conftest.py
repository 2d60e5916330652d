"""Fixtures for the fault suite: real stores recorded from real AutoGen teams, and the figures summary."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.support` lives beside the tests, not in the installed package
    sys.path.insert(0, str(ROOT))

from fault_helpers import FIGURES  # noqa: E402

from teamtape.cli import main  # noqa: E402
from teamtape.store import Store, open_store  # noqa: E402


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the fault suite measured (loads held, faults survived, inputs tried...)."""
    if FIGURES:
        terminalreporter.section("fault suite figures")
        for key, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{key}: {value}")


@pytest.fixture(scope="session")
def demo_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every ``teamtape demo`` scenario, recorded from real AutoGen teams (read-only: copy it)."""
    path = tmp_path_factory.mktemp("demo") / "store"
    assert main(["demo", "--store", str(path), "--json"]) == 0
    open_store(path).sync()
    return path


@pytest.fixture
def demo_store(demo_store_dir: Path, tmp_path: Path) -> Store:
    """A private copy of the demo store."""
    copy = tmp_path / "demo-store"
    shutil.copytree(demo_store_dir, copy)
    return open_store(copy)
