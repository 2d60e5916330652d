"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A path for a fresh store (not created yet)."""
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def _isolated_store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may write to the developer's own ./.teamtape: default the store into tmp_path."""
    monkeypatch.setenv("TEAMTAPE_STORE", str(tmp_path / "default-store"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield
    os.environ.pop("TEAMTAPE_BUSY_TIMEOUT", None)
