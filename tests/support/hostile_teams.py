"""Real AutoGen teams fed hostile input, for the fault suite (run in a subprocess by fault_script.py).

Each case records one or more runs against a :class:`~teamtape.demo.server.ScriptedOpenAIServer`
and reports what the team itself saw, so the test can compare it with what the store kept:

- ``big``: a task of MB megabytes and a model answer of MB megabytes (``small``: the same, tiny);
- ``image``: a multimodal task with a real PNG image (PIL);
- ``unicode``: NUL, bidi overrides, terminal escapes, Rich markup, emoji; a tool whose result holds
  lone surrogates (a file name read with ``os.fsdecode``), which the openai SDK then cannot send;
- ``nested``: tool arguments nested 900 levels deep (AutoGen itself hangs far deeper);
- ``odd_values``: tool arguments with NaN and Infinity, tools returning sets of objects, bytes, None;
- ``names``: agents named like SQL keywords, a tool named ``DROP-TABLE-runs--select``, a run name and
  labels with quotes, markup and escapes, and a user message whose source is SQL (the openai client
  refuses that name, so that run fails).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import MultiModalMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import Image
from autogen_core.tools import FunctionTool

import teamtape
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall

WEIRD_TEXT = (
    "nul\x00byte rtl\u202eevil\u202c bell\x07 esc\x1b]0;owned-title\x07 clear\x1b[2J "
    "markup [/INST] [bold]x[/bold] [link=http://evil.example]click[/link] emoji 🙂 cjk 漢字"
)
RUN_NAME = "nightly 'quoted' \"double\" [/INST] \x1b[31mred\x1b[0m; DROP TABLE runs; --"
LABELS = {"owner'; DROP TABLE runs; --": 'x"y', "[/bold]": "\x1b[2J"}
SQL_SOURCE = "user'; DROP TABLE runs; --"
BAD_NAME = os.fsdecode(b"report-\xff\xfe.txt")  # how Python reads a file name that is not UTF-8


class Opaque:
    """A value no JSON encoder knows."""

    def __repr__(self) -> str:
        return "<Opaque object>"


def list_files(folder: str) -> str:
    """List the files of a folder."""
    return f"{folder}: {BAD_NAME}, notes.txt"


def read_blob(name: str) -> bytes:
    """Read raw bytes."""
    return b"\xff\xfe\x00\x01 not utf-8 \x80"


def odd_result(x: float) -> object:
    """Return something JSON cannot hold."""
    return {Opaque(), dt.datetime(2024, 11, 23), float("nan"), None}


def nothing() -> None:
    """Return None."""
    return None


def deep(data: dict[str, Any]) -> str:
    """Accept a deeply nested document."""
    depth, node = 0, data
    while isinstance(node, dict) and node:
        node, depth = next(iter(node.values())), depth + 1
    return f"depth {depth}"


def nested_arguments(depth: int) -> str:
    return '{"data": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def _team(
    server: ScriptedOpenAIServer,
    agents: list[tuple[str, list[Any]]],
    max_messages: int,
    model: str = "gpt-4o-mini",
) -> Any:
    client = server.client(model)
    members = [AssistantAgent(name, model_client=client, tools=tools or None) for name, tools in agents]
    return RoundRobinGroupChat(members, termination_condition=MaxMessageTermination(max_messages))


async def _run(team: Any, task: Any) -> dict[str, Any]:
    """Run a team; what it produced, or the error it raised (a hostile input may make AutoGen fail)."""
    try:
        result = await team.run(task=task)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:300]}
    return {
        "messages": [type(m).__name__ for m in result.messages],
        "stop_reason": result.stop_reason,
        "last": str(getattr(result.messages[-1], "content", ""))[:200],
    }


async def case_big(mb: float) -> list[dict[str, Any]]:
    size = int(mb * 1024 * 1024)
    text = ("All work and no play makes Jack a dull boy. " * (size // 44 + 1))[:size]
    with ScriptedOpenAIServer([Reply(content="B" + text[1:])]) as server:
        return [await _run(_team(server, [("reader", [])], 2), "A" + text[1:])]


async def case_image(mb: float) -> list[dict[str, Any]]:
    from PIL import Image as PILImage

    picture = PILImage.new("RGB", (256, 192), (200, 30, 30))
    for x in range(0, 256, 16):
        for y in range(192):
            picture.putpixel((x, y), (255, 255, 255))
    task = MultiModalMessage(source="user", content=["What is in this picture?", Image.from_pil(picture)])
    with ScriptedOpenAIServer([Reply(content="A red picture with white stripes.")]) as server:
        return [await _run(_team(server, [("viewer", [])], 2, model="gpt-4o"), [task])]


async def case_unicode(mb: float) -> list[dict[str, Any]]:
    replies = [Reply(content=WEIRD_TEXT), Reply(tool_calls=[ToolCall("list_files", {"folder": "inbox"})])]
    with ScriptedOpenAIServer(replies) as server:
        first = await _run(_team(server, [("echo", [])], 2), "say " + WEIRD_TEXT)
        second = await _run(_team(server, [("lister", [list_files])], 4), "list the inbox")
    return [first, second]


async def case_nested(mb: float) -> list[dict[str, Any]]:
    replies = [Reply(tool_calls=[ToolCall("deep", nested_arguments(900))]), Reply(content="deep enough")]
    with ScriptedOpenAIServer(replies) as server:
        return [await _run(_team(server, [("digger", [deep])], 3), "dig")]


async def case_odd_values(mb: float) -> list[dict[str, Any]]:
    replies = [
        Reply(
            tool_calls=[
                ToolCall("odd_result", '{"x": NaN}'),
                ToolCall("read_blob", {"name": "a.bin"}),
                ToolCall("nothing", {}),
            ]
        ),
        Reply(tool_calls=[ToolCall("odd_result", '{"x": -Infinity}')]),
        Reply(content="done with odd values"),
    ]
    with ScriptedOpenAIServer(replies) as server:
        team = _team(server, [("odd", [odd_result, read_blob, nothing])], 4)
        return [await _run(team, "be odd")]


async def case_names(mb: float) -> list[dict[str, Any]]:
    sql_tool = FunctionTool(deep, description="a tool with a hostile name", name="DROP-TABLE-runs--select")
    replies = [
        Reply(tool_calls=[ToolCall("DROP-TABLE-runs--select", {"data": {"a": 1}})]),
        Reply(content="selected"),
        Reply(content="from where"),
    ]
    with ScriptedOpenAIServer(replies) as server:
        good = await _run(_team(server, [("select", [sql_tool]), ("from_", [])], 4), "SELECT * FROM runs; --")
        bad_source = TextMessage(source=SQL_SOURCE, content="who am I?")
        bad = await _run(_team(server, [("drop", [])], 2), [bad_source])
    return [good, bad]


CASES: dict[str, Callable[[float], Any]] = {
    "big": case_big,
    "small": lambda mb: case_big(0.001),
    "image": case_image,
    "unicode": case_unicode,
    "nested": case_nested,
    "odd_values": case_odd_values,
    "names": case_names,
}


async def run_case(store: str, cases: str, mb: float, done: Callable[..., None]) -> None:
    """Record each of the comma-separated ``cases`` into ``store`` and report (through ``done``) what the
    teams saw and which runs each case recorded."""
    report: dict[str, Any] = {}
    for case in cases.split(","):
        name = RUN_NAME if case == "names" else case
        async with teamtape.record(store=store, name=name, labels=LABELS) as rec:
            outcomes = await CASES[case](mb)
        report[case] = {
            "outcomes": outcomes,
            "run_ids": rec.run_ids,
            "events_written": rec.recorder.events_written,
        }
    done(cases=report)
