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

_FRAME = re.compile(r'^(?P<indent>\s*)File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<name>.+))?')


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


_CHAINED = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_LIBRARY_PATH = re.compile(r"[/\\](?:site-packages|dist-packages|lib[/\\]python\d[\d.]*)[/\\]")


def condensed_lines(traceback: str, limit: int) -> list[str]:
    """A traceback's non-blank lines cut to about its last ``limit``, keeping what a cut would hide
    that says most about the failure: in a chain of exceptions, the first one (the root cause) and the
    last frames of the user's own code in it.

    Example:
        >>> tb = "\\n".join([
        ...     "Traceback (most recent call last):",
        ...     '  File "/home/me/team.py", line 15, in charge_card',
        ...     "    sys.exit(3)",
        ...     "SystemExit: 3",
        ...     "",
        ...     "During handling of the above exception, another exception occurred:",
        ...     "",
        ...     "Traceback (most recent call last):",
        ...     *[f'  File "/venv/lib/python3.11/site-packages/x.py", line {i}, in f' for i in range(9)],
        ...     "asyncio.exceptions.CancelledError",
        ... ])
        >>> print("\\n".join(condensed_lines(tb, 4)))
        … (9 more lines in --json; it started here:)
          File "/home/me/team.py", line 15, in charge_card
            sys.exit(3)
        SystemExit: 3
          File "/venv/lib/python3.11/site-packages/x.py", line 6, in f
          File "/venv/lib/python3.11/site-packages/x.py", line 7, in f
          File "/venv/lib/python3.11/site-packages/x.py", line 8, in f
        asyncio.exceptions.CancelledError
    """
    lines = [line for line in traceback.rstrip().splitlines() if line.strip()]
    if len(lines) <= limit:
        return lines
    tail = lines[-limit:]
    tail = tail[next((i for i, line in enumerate(tail) if _FRAME.match(line)), 0) :]  # from a whole frame
    first_end = next((i for i, line in enumerate(lines) if line.strip() in _CHAINED), None)
    if first_end is None or first_end >= len(lines) - len(tail):
        return [f"… ({len(lines) - len(tail)} earlier lines in --json)", *tail]
    first = lines[:first_end]
    own = _own_frames(first)[-4:]  # the user's last two frames: File line and source line each
    head = [*own, first[-1]] if first[-1] not in own else own
    return [f"… ({len(lines) - len(tail) - len(head)} more lines in --json; it started here:)", *head, *tail]


def _own_frames(lines: list[str]) -> list[str]:
    """The ``File`` lines (with the source line after each) of frames outside installed libraries."""
    out: list[str] = []
    for i, line in enumerate(lines):
        frame = _FRAME.match(line)
        if frame is None or _LIBRARY_PATH.search(frame.group("path")):
            continue
        out.append(line)
        if i + 1 < len(lines) and _FRAME.match(lines[i + 1]) is None and not lines[i + 1].startswith(" " * 8):
            out.append(lines[i + 1])
    return out


def last_frame(traceback: str) -> str | None:
    """Where a traceback's exception was raised, as ``file.py:LINE in function`` (None without frames).

    Example:
        >>> last_frame('Traceback (most recent call last):\\n  File "/src/tools.py", line 15, in lookup\\nKeyError: 1')
        'tools.py:15 in lookup'
    """
    found = None
    for line in traceback.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            found = f"{_file_name(frame.group('path'))}:{frame.group('line')}"
            found += f" in {frame.group('name')}" if frame.group("name") else ""
    return found


def _file_name(path: str) -> str:
    """The file's name, from a POSIX or a Windows path (a traceback may come from another machine)."""
    return re.split(r"[/\\]", path)[-1]
