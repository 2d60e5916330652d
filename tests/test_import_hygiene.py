"""Dependencies point one way: nothing but the TUI imports textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = ["teamtape", "teamtape.store", "teamtape.recorder", "teamtape.replay", "teamtape.cli", "teamtape.demo"]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_modules_do_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules, sorted(m for m in sys.modules if 'textual' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_generic_top_level_names_are_installed() -> None:
    code = (
        "import importlib.util, sys\n"
        "bad = [n for n in ('store', 'replay', 'tui', 'recorder', 'grafana') if importlib.util.find_spec(n)]\n"
        "print(', '.join(bad)); sys.exit(1 if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")
