"""What importing teamtape.replay costs: never textual, and the pytest plugin never autogen."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "teamtape.replay._client",
    "teamtape.replay._compare",
    "teamtape.replay._interceptor",
    "teamtape.replay._rebuild",
    "teamtape.replay._rerun",
    "teamtape.replay._tapefile",
    "teamtape.replay.pytest_plugin",
    "teamtape.cli._replay",
    "teamtape.cli._tape",
]


def test_replay_modules_do_not_import_textual() -> None:
    code = f"import sys\nfor m in {MODULES!r}: __import__(m)\nassert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_pytest_plugin_loads_without_autogen() -> None:
    """Every pytest run of a project with teamtape installed loads the plugin: it must stay light."""
    code = (
        "import sys, teamtape.replay.pytest_plugin\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('autogen_core', 'autogen_agentchat', 'openai'))\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
