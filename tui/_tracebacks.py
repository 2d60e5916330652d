"""Recorded tracebacks as a reader wants them: without teamtape's own wrapper frames (headless).

Every error that passes through a recorded team passes through teamtape's wrappers too, so its
traceback has frames like ``recorder/_turns.py ... in _recorded_turn_stream`` between AutoGen's.
They are true but say nothing about the user's failure. The store keeps them (``--json`` and SQL
show the traceback as recorded); ``teamtape show`` and the TUI leave them out and say how many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

_FRAME = re.compile(r'^(?P<indent>\s*)File "(?P<path>[^"]+)", line \d+')


_INSTALLED_ELSEWHERE = "/teamtape/recorder/"
"""Where the recorder's files are in any installed copy of teamtape (another machine's traceback)."""


@cache
def _recorder_folders() -> tuple[str, ...]:
    """The folders of this installation's recorder (in a source checkout, not under ``teamtape/``)."""
    spec = find_spec("teamtape.recorder")
    locations = spec.submodule_search_locations if spec is not None else None
    return tuple(Path(folder).resolve().as_posix() + "/" for folder in locations or [])


def is_recorder_frame(path: str) -> bool:
    """Whether a traceback frame's file is one of teamtape's recorder modules: in this installation, or
    in an installed teamtape anywhere (a traceback may have been recorded on another machine)."""
    posix = path.replace("\\", "/")
    return _INSTALLED_ELSEWHERE in posix or posix.startswith(_recorder_folders())


def error_line(error_type: str | None, message: str) -> str:
    """``Type: message``, or the type alone when there is no message (a cancellation has none)."""
    error_type = error_type or "Error"
    return f"{error_type}: {message}" if message else error_type


@dataclass(frozen=True)
class Traceback:
    """A traceback's text with teamtape's frames left out, and how many were."""

    text: str
    hidden_frames: int

    @property
    def note(self) -> str:
        """What a reader is told about the frames left out (empty when none were)."""
        return left_out_note(self.hidden_frames)


def left_out_note(hidden_frames: int) -> str:
    """What a reader is told about ``hidden_frames`` frames left out (empty for none)."""
    if not hidden_frames:
        return ""
    frames = "frame" if hidden_frames == 1 else "frames"
    return f"({hidden_frames} teamtape {frames} left out: --json has the traceback as recorded)"


def without_recorder_frames(traceback: str) -> Traceback:
    """``traceback`` without the frames (their ``File`` line, source line and markers) of teamtape's
    recorder.

    Example:
        >>> tb = (
        ...     "Traceback (most recent call last):\\n"
        ...     '  File "/venv/site-packages/teamtape/recorder/_turns.py", line 115, in _recorded_turn_stream\\n'
        ...     "    item = await inner.__anext__()\\n"
        ...     "           ^^^^^^^^^^^^^^^^^^^^^^^\\n"
        ...     '  File "/venv/site-packages/autogen_agentchat/agents/_assistant_agent.py", line 991, in run\\n'
        ...     "    async for event in self._process_model_result(\\n"
        ...     "ValueError: boom"
        ... )
        >>> short = without_recorder_frames(tb)
        >>> print(short.text)
        Traceback (most recent call last):
          File "/venv/site-packages/autogen_agentchat/agents/_assistant_agent.py", line 991, in run
            async for event in self._process_model_result(
        ValueError: boom
        >>> short.note
        '(1 teamtape frame left out: --json has the traceback as recorded)'
    """
    kept: list[str] = []
    hidden = 0
    skip_indent: int | None = None  # inside a hidden frame: lines indented deeper than its File line
    for line in traceback.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            skip_indent = None
            if is_recorder_frame(frame.group("path")):
                hidden += 1
                skip_indent = len(frame.group("indent"))
                continue
        elif skip_indent is not None:
            if not line.strip() or len(line) - len(line.lstrip()) > skip_indent:
                continue
            skip_indent = None
        kept.append(line)
    return Traceback("\n".join(kept) if hidden else traceback, hidden)
