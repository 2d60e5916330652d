"""A journal line is the event as compact JSON, whatever the payload or envelope holds."""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any

import pytest

from teamtape.store import Event, RawJson, encode_event
from teamtape.store.events import _json_default


class Color(Enum):
    RED = "red"


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque object>"


def _same(a: Any, b: Any) -> bool:
    """Equal JSON values, NaN and -0.0 included, key order aside."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _reference(event: Event) -> Any:
    """What ``json.dumps`` of the whole event (``ensure_ascii=False``, compact) reads back as."""
    data = event.to_dict()
    if isinstance(event.payload, RawJson):
        data["payload"] = json.loads(event.payload)
    return json.loads(json.dumps(data, ensure_ascii=False, default=_json_default, separators=(",", ":")))


PAYLOADS = [
    {},
    {"text": 'quotes " and \\ and \n\t\x00 controls, \u2028 separators, emoji \U0001f600, bidi \u202e'},
    {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "big": 10**30, "float": 1e16, "neg0": -0.0},
    {3: "int key", 2.5: "float key", True: "bool key", None: "null key"},
    {"set": {1}, "bytes": b"\xff\xfe", "tuple": (1, "a"), "enum": Color.RED, "object": Opaque()},
    {"deep": [[[[{"a": [None, False, 0]}]]]]},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_encode_as_json_dumps_would(payload: dict[str, Any]) -> None:
    event = Event("0" * 32, "run0", 3, 1732380000.123456, "message", "agent_1", payload)
    line = encode_event(event)
    assert "\n" not in line
    assert _same(json.loads(line), _reference(event)), (
        "NaN, -0.0 and odd values kept as json.dumps writes them"
    )


@pytest.mark.parametrize(
    "event",
    [
        Event("id", "run", 0, math.nan, "k", None, {}),  # a non-finite ts is written as json.dumps does
        Event("id", "run", True, 3, "k", 7, {"a": 1}),  # odd envelope types
        Event('i"d', "r\\un", 1, 2.5, "ki\nnd", "ag\u2028ent", RawJson('{"already":"json"}')),
        Event("id", "run", 1, 2.5, "blob", None, RawJson("{}")),
    ],
)
def test_envelopes_of_any_kind_encode_as_json_dumps_would(event: Event) -> None:
    assert _same(json.loads(encode_event(event)), _reference(event))


def test_lone_surrogates_stay_in_the_text_for_the_journal_to_escape() -> None:
    event = Event("id", "run", 1, 2.5, "message", "a\ud800", {"file": "report-\udcff.txt"})
    line = encode_event(event)
    assert "\ud800" in line and "\udcff" in line
