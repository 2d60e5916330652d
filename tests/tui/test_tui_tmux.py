"""`teamtape tui` in a real terminal (tmux) on a store recorded from real AutoGen teams by the tests."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.screen import teamtape_exe

pytestmark = pytest.mark.tmux


@pytest.fixture
def tmux() -> Iterator[Callable[..., str]]:
    """Run tmux commands on a private server (never the user's own tmux)."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed: `make test` installs it (apt-get install tmux)")
        pytest.skip("tmux is not installed")
    socket = f"teamtape-test-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> str:
        done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0 and args[0] not in ("has-session", "kill-server"):
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr}")
        return done.stdout if done.returncode == 0 else ""

    yield run
    run("kill-server")


def _wait_for(tmux: Callable[..., str], text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", "tui")
        if text in screen:
            return screen
        time.sleep(0.1)
    size = tmux("display", "-p", "-t", "tui", "#{pane_width}x#{pane_height}").strip()
    raise AssertionError(f"{text!r} never appeared on the {size} screen; last screen:\n{screen}")


def test_tui_in_a_real_terminal(tmux, demo_store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exit_file = tmp_path / "exit-code"
    command = (
        f"env TZ=UTC TERM=xterm-256color {shlex.quote(teamtape_exe())} tui --store {shlex.quote(str(demo_store))}"
        f"; echo $? > {shlex.quote(str(exit_file))}"
    )
    tmux("new-session", "-d", "-s", "tui", "-x", "120", "-y", "36", command)

    screen = _wait_for(tmux, "selector_research")
    assert "swarm_support" in screen and "failing_tool_run" in screen and "✗ error" in screen

    tmux("send-keys", "-t", "tui", "/")  # each key is sent once the screen shows the previous one took
    _wait_for(tmux, "filter: status:error")
    tmux("send-keys", "-t", "tui", "-l", "selector_research")
    _wait_for(tmux, "▊  selector_research")
    tmux("send-keys", "-t", "tui", "Enter")
    _wait_for(tmux, "1 of ")
    tmux("send-keys", "-t", "tui", "Enter")  # open the only run left

    screen = _wait_for(tmux, "replay: teamtape replay")
    conversation = screen.split("What happened", 1)[1]
    for seen in ("▶ start", "≡ select", "◆ llm", "› text", "planner", "web_searcher", "gpt-4o"):
        assert seen in conversation, seen

    tmux("send-keys", "-t", "tui", "c")  # cost chart, then back, then quit
    screen = _wait_for(tmux, "By model")
    assert "█" in screen and "gpt-4o" in screen
    tmux("send-keys", "-t", "tui", "Escape")
    _wait_for(tmux, "What happened")
    tmux("send-keys", "-t", "tui", "q")

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not exit_file.exists():
        time.sleep(0.1)
    assert exit_file.read_text().strip() == "0"
