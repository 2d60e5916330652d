"""A journal line is the event as standard compact JSON, whatever the payload or envelope holds."""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any
from uuid import UUID

import pytest

from teamtape.store import Event, RawJson, encode_event
from teamtape.store.events import _json_default, event_line, utf8_line


class Color(Enum):
    RED = "red"


class Measure(float):
    """A float subclass, as numpy.float64 is."""


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque object>"


def _same(a: Any, b: Any) -> bool:
    """Equal JSON values, -0.0 included, key order aside."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _strict_json(line: str) -> Any:
    """The line parsed as standard JSON: NaN, Infinity and -Infinity are refused."""

    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} is not standard JSON: DuckDB, jq and browsers cannot read the line")

    return json.loads(line, parse_constant=refuse)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _reference(event: Event) -> Any:
    """What ``json.dumps`` of the whole event reads back as, with NaN and infinities as null (standard JSON)."""
    data = event.to_dict()
    if isinstance(event.payload, RawJson):
        data["payload"] = json.loads(event.payload)
    return _finite(
        json.loads(json.dumps(data, ensure_ascii=False, default=_json_default, separators=(",", ":")))
    )


PAYLOADS = [
    {},
    {"text": 'quotes " and \\ and \n\t\x00 controls, \u2028 separators, emoji \U0001f600, bidi \u202e'},
    {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "big": 10**30, "float": 1e16, "neg0": -0.0},
    {3: "int key", 2.5: "float key", True: "bool key", None: "null key"},
    {"set": {1}, "bytes": b"\xff\xfe", "tuple": (1, "a"), "enum": Color.RED, "object": Opaque()},
    {"deep": [[[[{"a": [None, False, 0]}]]]]},
    {"float subclass": Measure(0.5), "nan subclass": Measure("nan"), "uuid": UUID(int=5)},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_encode_as_json_dumps_would(payload: dict[str, Any]) -> None:
    event = Event("0" * 32, "run0", 3, 1732380000.123456, "message", "agent_1", payload)
    line = encode_event(event)
    assert "\n" not in line
    assert _same(_strict_json(line), _reference(event)), (
        "-0.0 and odd values kept as json.dumps writes them, NaN and infinities as null"
    )


@pytest.mark.parametrize(
    "event",
    [
        Event("id", "run", 0, math.nan, "k", None, {}),  # a non-finite ts is written as null
        Event("id", "run", True, 3, "k", 7, {"a": 1}),  # odd envelope types
        Event('i"d', "r\\un", 1, 2.5, "ki\nnd", "ag\u2028ent", RawJson('{"already":"json"}')),
        Event("id", "run", 1, 2.5, "blob", None, RawJson("{}")),
    ],
)
def test_envelopes_of_any_kind_encode_as_json_dumps_would(event: Event) -> None:
    assert _same(_strict_json(encode_event(event)), _reference(event))


def test_lone_surrogates_stay_in_the_text_for_the_journal_to_escape() -> None:
    event = Event("id", "run", 1, 2.5, "message", "a\ud800", {"file": "report-\udcff.txt"})
    line = encode_event(event)
    assert "\ud800" in line and "\udcff" in line


@pytest.mark.parametrize("payload", [*PAYLOADS, {"file": "report-\udcff.txt"}, RawJson('{"already":"json"}')])
def test_the_recorders_journal_line_is_the_encoded_event(payload: dict[str, Any]) -> None:
    event = Event("0" * 32, "run0", 3, 1732380000.123456, "message", "agent_\ud800", payload)
    line = event_line(
        event.event_id, event.run_id, event.seq, event.ts, event.kind, event.agent, event.payload
    )
    assert line == utf8_line(encode_event(event) + "\n"), (
        "the recorder's bytes and encode_event never disagree"
    )
    assert line.endswith(b"\n") and line.count(b"\n") == 1
