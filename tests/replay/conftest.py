"""Fixtures for the replay tests."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.support` lives beside the tests, not in the installed package
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _code_pattern_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the code_execution pattern's executor works and what its code appends to."""
    monkeypatch.setenv("TEAMTAPE_TEST_CODE_DIR", str(tmp_path / "coding"))
    monkeypatch.setenv("TEAMTAPE_TEST_CODE_LOG", str(tmp_path / "code.log"))
