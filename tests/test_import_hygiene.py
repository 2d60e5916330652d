"""Dependencies point one way: nothing but the TUI imports textual, and recording needs no DuckDB."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEADLESS = [
    "teamtape",
    "teamtape.store",
    "teamtape.recorder",
    "teamtape.replay",
    "teamtape.cli",
    "teamtape.demo",
]


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


def test_recording_a_run_loads_neither_duckdb_nor_pyarrow(tmp_path: Path) -> None:
    """A recording process only appends to its journal: DuckDB is for whoever reads the store."""
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        import teamtape
        from autogen_agentchat.agents import AssistantAgent
        from autogen_ext.models.replay import ReplayChatCompletionClient

        async def main():
            agent = AssistantAgent("helper", model_client=ReplayChatCompletionClient(["Done."]))
            with teamtape.record(store={str(tmp_path / "store")!r}) as rec:
                result = await agent.run(task="Say done.")
            assert result.messages[-1].content == "Done.", result
            assert rec.recorder.events_written >= 4, rec.recorder.events_written

        asyncio.run(main())
        heavy = sorted(m for m in ("duckdb", "pyarrow") if m in sys.modules)
        assert not heavy, f"recording imported {{heavy}}"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
