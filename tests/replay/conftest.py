"""Fixtures for the replay tests."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.support` lives beside the tests, not in the installed package
    sys.path.insert(0, str(ROOT))
