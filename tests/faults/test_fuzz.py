"""Fuzzing (hypothesis) of everything that reads bytes teamtape did not write itself: event decoding,
journal folding and recovery, tape import, and lake import of damaged Parquet parts.

The number of examples is bounded so the suite stays fast; every example that ran is counted and
reported in the fault suite figures.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_helpers import event_ids, journal_only_copy, note
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamtape.replay import import_tape
from teamtape.store import (
    Event,
    IdFactory,
    ImportFileError,
    SchemaVersionError,
    Store,
    StoreError,
    decode_event,
    open_store,
)
from teamtape.store.lake import LakeError, export_lake, import_lake

RAN: Counter[str] = Counter()
SURROGATE = re.compile("[\\ud800-\\udfff]")
FAST = settings(max_examples=300, deadline=None, database=None)
SLOW = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ANY_CHAR = st.characters(codec=None, exclude_categories=())  # lone surrogates, NUL, controls, bidi: all of it
TEXT = st.text(ANY_CHAR, max_size=40)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    for what, n in sorted(RAN.items()):
        note(f"fuzz inputs run: {what}", n)


def fresh_dir() -> Path:
    """A new directory per hypothesis example (function-scoped fixtures are shared across examples)."""
    return Path(tempfile.mkdtemp(prefix="tt-fuzz-"))


def quietly_open(path: Path) -> Store:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = open_store(path)
        store.sync()
    return store


# -- event decoding ----------------------------------------------------------------------------------------
@FAST
@given(st.binary(max_size=300) | st.text(ANY_CHAR, max_size=300))
def test_decoding_any_bytes_gives_an_event_or_a_value_error(line: bytes | str) -> None:
    RAN["decode_event on random bytes and text"] += 1
    try:
        decode_event(line)
    except ValueError:
        pass


ENVELOPE = st.fixed_dictionaries(
    {},
    optional={
        key: JSON for key in ("event_id", "run_id", "seq", "ts", "kind", "agent", "payload", "schema_version")
    },
)


@FAST
@given(ENVELOPE | JSON)
def test_decoding_any_json_gives_an_event_or_a_value_error(document: Any) -> None:
    RAN["decode_event on random JSON documents"] += 1
    try:
        event = decode_event(json.dumps(document))
    except ValueError:
        return
    assert isinstance(event.seq, int) and math.isfinite(event.ts) and isinstance(event.payload, dict)


def deep(depth: int) -> str:
    return (
        '{"event_id":"e","run_id":"r","seq":0,"ts":1,"kind":"k","payload":' + "[" * depth + "]" * depth + "}"
    )


def test_decoding_deeply_nested_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        decode_event(deep(200_000))


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["message", "tool_call", "llm_call", "memory_query", "blob"]),
        TEXT,
        st.dictionaries(TEXT, JSON, max_size=5),
    ),
    min_size=1,
    max_size=12,
)


@SLOW
@given(EVENTS)
def test_any_payload_comes_back_from_the_store_as_it_was_written(
    specs: list[tuple[str, str, dict[str, Any]]],
) -> None:
    """Through encode_event, a journal, DuckDB's JSON and back: text of any kind, numbers, nesting."""
    RAN["payload round trips through journal, fold and DuckDB"] += 1
    root = fresh_dir()
    try:
        store = open_store(root / "store", create=True)
        writer, ids = store.writer(), IdFactory()
        run = "fuzzfuzzfuzzfuzz"
        written = [
            Event(
                ids.event_id(),
                run,
                0,
                time.time(),
                "run_started",
                None,
                {"team_type": "Fuzz", "journal": writer.name},
            )
        ]
        written += [
            Event(ids.event_id(), run, i + 1, time.time(), kind, agent, payload)
            for i, (kind, agent, payload) in enumerate(specs)
        ]
        written.append(
            Event(ids.event_id(), run, len(written), time.time(), "run_ended", None, {"status": "ok"})
        )
        writer.append_many(written)
        writer.close()
        stored = {e.event_id: e for e in quietly_open(store.root).events(run, expand_requests=False)}
        assert set(stored) == {e.event_id for e in written}, "every event reached the store"
        for event in written:
            back = stored[event.event_id]
            assert back.agent == (event.agent if event.agent is None else as_stored(event.agent))
            assert back.payload == as_stored(event.payload)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def as_stored(value: Any) -> Any:
    """What the journal makes of a value: each lone surrogate becomes the text ``\\udXXX``."""
    if isinstance(value, str):
        return SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, dict):
        return {as_stored(k): as_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return value


# -- journal recovery --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def journal_lines(tmp_path_factory: pytest.TempPathFactory, demo_store_dir: Path) -> list[bytes]:
    """The lines of a journal holding every event of the demo store (real recorded events)."""
    journal, _ = journal_only_copy(open_store(demo_store_dir), tmp_path_factory.mktemp("journal") / "store")
    return journal.read_bytes().splitlines(keepends=True)


GARBAGE = st.binary(min_size=1, max_size=200).map(lambda b: b.replace(b"\n", b" ") + b"\n") | st.sampled_from(
    [
        b"\n",
        b"\x00" * 64 + b"\n",
        b"{}\n",
        b"[]\n",
        b"null\n",
        b'{"event_id": 1}\n',
        b"{\n",
        b'{"event_id":"x","run_id":"r","seq":1e400,"ts":1,"kind":"k"}\n',
        b'{"event_id":"x","run_id":"r","seq":1,"ts":"later","kind":"k"}\n',
        b"\xef\xbb\xbf{}\n",
    ]
)


@SLOW
@given(st.data())
def test_garbage_between_journal_lines_costs_only_itself(
    journal_lines: list[bytes], data: st.DataObject
) -> None:
    """Whole lines of garbage inserted anywhere (and a torn tail): every good line is folded, the
    garbage is quarantined with a warning, nothing raises."""
    RAN["journals with garbage lines inserted and a torn tail"] += 1
    lines = list(journal_lines)
    inserts = data.draw(st.lists(st.tuples(st.integers(0, len(lines)), GARBAGE), min_size=1, max_size=8))
    for position, junk in sorted(inserts, reverse=True):
        lines.insert(position, junk)
    tail = data.draw(st.binary(max_size=50).map(lambda b: b.replace(b"\n", b"")))
    root = fresh_dir()
    try:
        journal_dir = root / "store" / "journal"
        journal_dir.mkdir(parents=True)
        (journal_dir / "host-1-fuzz.jsonl").write_bytes(b"".join(lines) + tail)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store = open_store(root / "store")
            store.sync()
        good = {json.loads(line)["event_id"] for line in journal_lines}
        kept = set(event_ids(store)) - {i for i in event_ids(store) if i.startswith("crash-")}
        assert kept == good
        visible = tail or any(junk.strip() for _, junk in inserts)  # blank lines are no data, and no warning
        assert any("unreadable line" in str(w.message) for w in caught) == bool(visible)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- tape import -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tape_text(tmp_path_factory: pytest.TempPathFactory, demo_store_dir: Path) -> str:
    from teamtape.replay import export_tape

    path = tmp_path_factory.mktemp("tape") / "demo.tape.json"
    export_tape(open_store(demo_store_dir), "last", path)
    return path.read_text()


def mutate_json(document: Any, data: st.DataObject) -> Any:
    """Replace one node of a JSON document, chosen by a random path, with a random JSON value."""
    if not isinstance(document, (dict, list)) or not document or data.draw(st.integers(0, 5)) == 0:
        return data.draw(JSON)
    if isinstance(document, dict):
        key = data.draw(st.sampled_from(sorted(document)))
        return {**document, key: mutate_json(document[key], data)}
    index = data.draw(st.integers(0, len(document) - 1))
    return [*document[:index], mutate_json(document[index], data), *document[index + 1 :]]


TAPE_FAILURES = (ImportFileError, SchemaVersionError)


@SLOW
@given(st.data())
def test_a_mutated_tape_is_imported_or_refused_with_a_reason(tape_text: str, data: st.DataObject) -> None:
    RAN["mutated tapes imported"] += 1
    how = data.draw(st.sampled_from(["structure", "bytes", "cut"]))
    if how == "structure":
        body = json.dumps(mutate_json(json.loads(tape_text), data)).encode()
    elif how == "bytes":
        raw = bytearray(tape_text.encode())
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        body = bytes(raw)
    else:
        body = tape_text.encode()[: data.draw(st.integers(0, len(tape_text)))]
    root = fresh_dir()
    try:
        (root / "t.tape.json").write_bytes(body)
        store = open_store(root / "store", create=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import_tape(store, root / "t.tape.json")
        except TAPE_FAILURES as e:
            assert str(root / "t.tape.json") in str(e)
            return
        quietly_open(store.root).query("SELECT * FROM runs")  # what was imported is readable
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- lake import of damaged Parquet parts ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory, demo_store_dir: Path) -> Path:
    lake = tmp_path_factory.mktemp("lake") / "lake"
    export_lake(open_store(demo_store_dir), lake)
    return lake


@SLOW
@given(st.data())
def test_a_lake_with_a_damaged_events_part_is_imported_or_refused_naming_it(
    lake_dir: Path, data: st.DataObject
) -> None:
    RAN["lakes with a damaged events part imported"] += 1
    root = fresh_dir()
    try:
        lake = root / "lake"
        shutil.copytree(lake_dir, lake)
        part = sorted((lake / "events").rglob("*.parquet"))[-1]
        raw = bytearray(part.read_bytes())
        if data.draw(st.booleans()):
            for _ in range(data.draw(st.integers(1, 16))):
                raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        else:
            del raw[data.draw(st.integers(0, len(raw) - 1)) :]
        part.write_bytes(bytes(raw))
        store = open_store(root / "store", create=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = import_lake(store, lake)
        except (ImportFileError, SchemaVersionError, LakeError) as e:
            assert str(part) in str(e) or str(lake) in str(e), e
            assert quietly_open(store.root).query("SELECT count(*) AS n FROM events")[0]["n"] == 0
            return
        except StoreError as e:  # e.g. the damage turned a payload into something the store refuses
            raise AssertionError(f"import half-failed: {e}") from e
        assert report.events > 0
        quietly_open(store.root).query("SELECT * FROM runs")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_lake_part_whose_metadata_is_not_text_is_refused_naming_it(lake_dir: Path) -> None:
    """Found by the fuzz test above: damage to the key/value metadata of a part is a damaged part, not a
    UnicodeDecodeError."""
    import pyarrow.parquet as pq

    root = fresh_dir()
    try:
        lake = root / "lake"
        shutil.copytree(lake_dir, lake)
        part = sorted((lake / "events").rglob("*.parquet"))[-1]
        table = pq.read_table(part)
        metadata = {**(table.schema.metadata or {}), b"teamtape.\xf4": b"\xf4\x80"}
        pq.write_table(table.replace_schema_metadata(metadata), part)
        store = open_store(root / "store", create=True)
        with pytest.raises(ImportFileError, match="is damaged: its metadata is not text") as raised:
            import_lake(store, lake)
        assert str(part) in str(raised.value)
    finally:
        shutil.rmtree(root, ignore_errors=True)
