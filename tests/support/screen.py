"""Reading a Textual app's screen in tests."""

from __future__ import annotations

from typing import Any


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def settle(pilot: Any, pause: float = 0.05) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(pause)
