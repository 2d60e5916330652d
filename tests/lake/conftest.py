"""Stores recorded from real AutoGen teams (the offline demo), and lakes exported from them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lake_support import add_run

from teamtape.cli import main
from teamtape.store import Store, open_store
from teamtape.store.lake import export_lake


@pytest.fixture(scope="session")
def recorded_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every demo scenario recorded from real AutoGen teams, one replay of one of them (its model calls
    answered from the recording), plus one run of a model with no known price."""
    path = tmp_path_factory.mktemp("recorded") / "store"
    assert main(["demo", "--store", str(path), "--json"]) == 0
    (selector,) = open_store(path).query("SELECT run_id FROM runs WHERE name = 'selector_research' LIMIT 1")
    assert main(["replay", selector["run_id"], "--store", str(path), "--json"]) == 0
    add_run(open_store(path))
    open_store(path).sync()
    return path


@pytest.fixture
def recorded_store(recorded_store_dir: Path, tmp_path: Path) -> Store:
    """A private copy of the recorded store, free to be changed by the test."""
    copy = tmp_path / "recorded-store"
    shutil.copytree(recorded_store_dir, copy)
    return open_store(copy)


@pytest.fixture(scope="session")
def recorded_lake(recorded_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake exported once from the recorded store (read-only for tests)."""
    lake = tmp_path_factory.mktemp("lake") / "lake"
    export_lake(open_store(recorded_store_dir), lake)
    return lake
