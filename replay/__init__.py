"""Deterministic replay: the replay model client, re-running recorded runs, run diffs, forks, tapes.

Public entry points:

- :class:`ReplayChatCompletionClient`: a model client (an AutoGen component) answering from a
  recording, by request.
- :func:`serving` / :class:`ReplaySession`: serve a recording to any team built with its usual
  clients, tools and memories - nothing reaches the network or repeats a side effect.
- :func:`replay_run`: re-run a recorded session offline (what ``teamtape replay`` does) and compare.
- :func:`diff_runs`: where two runs diverge first, and a message-level diff after that.
- :func:`export_tape` / :func:`import_tape` / :func:`read_tape` / :func:`write_tape`: tape files.
- The pytest plugin (``teamtape.replay.pytest_plugin``), registered through ``pytest11``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teamtape._lazy import lazy_attributes

# Names are imported on first use, so that loading the pytest plugin (every pytest run of a project
# that installs teamtape) does not import autogen.
_EXPORTS = {
    "ReplayChatCompletionClient": "._client",
    "ReplayClientConfig": "._client",
    "RecordedModelError": "._errors",
    "ReplayError": "._errors",
    "ReplayMismatchError": "._errors",
    "serving": "._interceptor",
    "DEFAULT_MATCHERS": "._matchers",
    "Matcher": "._matchers",
    "match_agent": "._matchers",
    "match_json_output": "._matchers",
    "match_messages": "._matchers",
    "match_model": "._matchers",
    "match_tool_choice": "._matchers",
    "match_tools": "._matchers",
    "RecordMode": "._modes",
    "NormalizedRequest": "._normalize",
    "ReplaySession": "._session",
    "ReplayStats": "._session",
    "Tape": "._tape",
    "TapeRun": "._tape",
    "RecordedTool": "._rebuild",
    "replay_run": "._rerun",
    "ReplayReport": "._rerun",
    "diff_runs": "._compare",
    "message_views": "._compare",
    "ending": "._compare",
    "MessageDiff": "._compare",
    "TAPE_FORMAT_VERSION": "._tapefile",
    "TapeImport": "._tapefile",
    "export_tape": "._tapefile",
    "import_tape": "._tapefile",
    "read_tape": "._tapefile",
    "write_tape": "._tapefile",
}

__all__ = [
    "DEFAULT_MATCHERS",
    "TAPE_FORMAT_VERSION",
    "Matcher",
    "MessageDiff",
    "NormalizedRequest",
    "RecordMode",
    "RecordedModelError",
    "RecordedTool",
    "ReplayChatCompletionClient",
    "ReplayClientConfig",
    "ReplayError",
    "ReplayMismatchError",
    "ReplayReport",
    "ReplaySession",
    "ReplayStats",
    "Tape",
    "TapeImport",
    "TapeRun",
    "diff_runs",
    "ending",
    "export_tape",
    "import_tape",
    "match_agent",
    "match_json_output",
    "match_messages",
    "match_model",
    "match_tool_choice",
    "match_tools",
    "message_views",
    "read_tape",
    "replay_run",
    "serving",
    "write_tape",
]


__getattr__ = lazy_attributes(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from ._client import ReplayChatCompletionClient, ReplayClientConfig
    from ._compare import MessageDiff, diff_runs
    from ._errors import RecordedModelError, ReplayError, ReplayMismatchError
    from ._interceptor import serving
    from ._matchers import (
        DEFAULT_MATCHERS,
        Matcher,
        match_agent,
        match_json_output,
        match_messages,
        match_model,
        match_tool_choice,
        match_tools,
    )
    from ._modes import RecordMode
    from ._normalize import NormalizedRequest
    from ._rebuild import RecordedTool
    from ._rerun import ReplayReport, replay_run
    from ._session import ReplaySession, ReplayStats
    from ._tape import Tape, TapeRun
    from ._tapefile import TAPE_FORMAT_VERSION, TapeImport, export_tape, import_tape, read_tape, write_tape
