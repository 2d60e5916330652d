"""Reading a Textual app's screen in tests."""

from __future__ import annotations

from typing import Any


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def settle(pilot: Any, pause: float = 0.05) -> None:
    """Let workers finish and their results reach the screen."""
    from textual.worker import WorkerCancelled

    for _ in range(3):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # superseded by a newer query of the same group: fine
            pass
        await pilot.pause(pause)


def teamtape_exe() -> str:
    """The installed ``teamtape`` console script of this checkout's virtualenv (or the one on PATH)."""
    import shutil
    import sys
    from pathlib import Path

    local = Path(sys.executable).parent / "teamtape"
    return str(local) if local.exists() else (shutil.which("teamtape") or "teamtape")
