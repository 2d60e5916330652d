"""The TUI's data layer on real DuckDB stores: filters, arrangement, timelines, blobs, costs, comparison."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from teamtape.store import Event, open_store
from teamtape.tui._compare import compare
from teamtape.tui._data import (
    fetch_costs,
    fetch_detail,
    fetch_runs,
    fetch_timeline,
    place_children,
    refresh_placeholders,
)
from teamtape.tui._filter import FilterError, RunFilter
from teamtape.tui._runs_model import RunLine, SessionLine, arrange, quiet_note
from teamtape.tui._timeline import Entry, Marker


def test_data_modules_are_headless() -> None:
    code = (
        "import sys, teamtape.tui, teamtape.tui._data, teamtape.tui._compare, teamtape.tui._runs_model; "
        "assert 'textual' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour:red", "Unknown filter 'colour:'"),
        ("status:finished", "Unknown status 'finished'"),
        ("model:", "'model:' needs a value"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        RunFilter.parse(text)


def test_filters_select_runs(synthetic) -> None:  # type: ignore[no-untyped-def]
    store = synthetic.open()
    everything = fetch_runs(store)
    assert len(everything.rows) == everything.total == synthetic.runs
    errors = fetch_runs(store, RunFilter.parse("status:error,crashed"))
    assert {r.run_id for r in errors.rows} == {synthetic.errored_run_id, synthetic.crashed_run_id}
    swarm = fetch_runs(store, RunFilter.parse("team:swarm"))
    assert swarm.rows and all(r.team_type == "Swarm" for r in swarm.rows)
    by_agent = fetch_runs(store, RunFilter.parse("agent:reviewer"))
    assert {r.run_id for r in by_agent.rows} == {synthetic.nested_child_id}
    by_model = fetch_runs(store, RunFilter.parse("model:llama"))
    assert by_model.rows and all(r.unpriced_calls > 0 for r in by_model.rows)
    by_word = fetch_runs(store, RunFilter.parse(synthetic.errored_run_id[:10]))
    assert [r.run_id for r in by_word.rows] == [synthetic.errored_run_id]


def test_arrange_groups_sessions_and_nests_children(synthetic) -> None:  # type: ignore[no-untyped-def]
    rows = fetch_runs(synthetic.open()).rows
    lines = arrange(rows, "started", reverse=True)
    sessions = [i for i, line in enumerate(lines) if isinstance(line, SessionLine)]
    assert sessions, "runs sharing a session get a header"
    first = lines[sessions[0]]
    assert isinstance(first, SessionLine)
    members = lines[sessions[0] + 1 : sessions[0] + 1 + first.runs]
    assert all(
        isinstance(m, RunLine) and m.run.session_id == first.session_id and m.depth == 1 for m in members
    )
    parent = next(i for i, line in enumerate(lines) if line.key == synthetic.nested_parent_id)
    child = lines[parent + 1]
    assert isinstance(child, RunLine) and child.run.run_id == synthetic.nested_child_id and child.nested
    # Sorting by cost puts the most expensive top-level run (or its session) first.
    by_cost = [
        line for line in arrange(rows, "cost", reverse=True) if isinstance(line, RunLine) and line.depth == 0
    ]
    costs = [line.run.cost_usd or 0 for line in by_cost]
    assert costs == sorted(costs, reverse=True)


def test_timeline_has_every_marker_and_resolves_request_blobs(synthetic) -> None:  # type: ignore[no-untyped-def]
    store = synthetic.open()
    tl = fetch_timeline(store, synthetic.errored_run_id)
    assert tl is not None and tl.complete
    markers = {e.marker for e in tl.entries}
    assert {Marker.START, Marker.TEXT, Marker.LLM, Marker.ERROR} <= markers
    assert [e.seq for e in tl.entries] == sorted(e.seq for e in tl.entries)
    assert all(e.kind != "blob" for e in tl.entries)
    error = next(e for e in tl.entries if e.kind == "run_ended")
    assert error.is_error and "ConnectionError" in error.summary
    call = next(e for e in tl.entries if e.kind == "llm_call")
    assert call.partial and "request" not in call.payload  # the timeline leaves bulky fields out
    detail = fetch_detail(store, call.run_id, call.seq)
    assert detail is not None and detail.request is not None
    assert all("$blob" in m for m in detail.payload["request"]["messages"])  # the event as stored
    assert detail.request["messages"][0]["type"] == "SystemMessage"
    assert detail.cost_usd == call.cost_usd and detail.price_source
    assert not any("$blob" in str(m) for m in detail.request["messages"])


def test_an_llm_call_shows_everything_the_model_was_sent(demo_store) -> None:  # type: ignore[no-untyped-def]
    """A later call of an agent is stored as a delta on its previous call; the inspector shows it whole."""
    store = open_store(demo_store)
    later_calls = store.query(
        "SELECT run_id, seq FROM events WHERE kind = 'llm_call' AND (payload->'$.request.base') IS NOT NULL"
    )
    assert later_calls, "the demo's agents call their model more than once"
    for call in later_calls:
        detail = fetch_detail(store, call["run_id"], call["seq"])
        assert detail is not None and detail.request is not None
        (stored,) = [e for e in store.events(call["run_id"], expand_requests=False) if e.seq == call["seq"]]
        (whole,) = [e for e in store.events(call["run_id"]) if e.seq == call["seq"]]
        refs = [m["$blob"] for m in whole.payload["request"]["messages"]]
        sent = [store.blobs(refs)[h] for h in refs]
        assert len(sent) > len(stored.payload["request"]["messages"])  # more than the delta
        assert detail.request["messages"] == sent and "base" not in detail.request
        assert sent[0]["type"] == "SystemMessage"


def test_a_missing_blob_is_named_not_fatal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "s", create=True)
    w = store.writer()
    w.append(Event("e0", "r1", 0, 1.0, "run_started", None, {"name": "t", "team_type": "X", "task": "go"}))
    w.append(
        Event(
            "e1",
            "r1",
            1,
            2.0,
            "llm_call",
            "bot",
            {
                "model": "gpt-4o",
                "request": {"messages": [{"$blob": "nope"}]},
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        )
    )
    w.close()
    tl = fetch_timeline(store, "r1")
    assert tl is not None
    assert tl.entries[-1].kind == "run_crashed"  # the writer closed without run_ended
    call = next(e for e in tl.entries if e.kind == "llm_call")
    detail = fetch_detail(store, "r1", call.seq)
    assert detail is not None and detail.request is not None
    assert detail.request["messages"] == ["[missing blob nope]"]


def test_timeline_slices_continue_where_they_stopped(synthetic) -> None:  # type: ignore[no-untyped-def]
    store = synthetic.open()
    whole = fetch_timeline(store, synthetic.errored_run_id)
    first = fetch_timeline(store, synthetic.errored_run_id, limit=10)
    assert first is not None and whole is not None and not first.complete
    rest = fetch_timeline(store, synthetic.errored_run_id, after_seq=first.last_seq)
    assert rest is not None and rest.complete
    assert [e.key for e in first.entries + rest.entries] == [e.key for e in whole.entries]


def test_nested_runs_get_an_expandable_line(synthetic) -> None:  # type: ignore[no-untyped-def]
    tl = fetch_timeline(synthetic.open(), synthetic.nested_parent_id)
    assert tl is not None and [c.run_id for c in tl.children] == [synthetic.nested_child_id]
    nested = [e for e in tl.entries if e.child_run_id]
    assert [e.marker for e in nested] == [Marker.NESTED]
    assert place_children(tl.entries, tl.children, 0) == []  # the tool call already points at it


def test_a_live_timelines_nested_run_is_listed_once_and_kept_current(synthetic) -> None:  # type: ignore[no-untyped-def]
    """While a nested run goes on, its tool call is not recorded yet: a line placed by its start time
    stands for it, showing its status as it changes, until the tool call arrives and replaces it."""
    from dataclasses import replace

    tl = fetch_timeline(synthetic.open(), synthetic.nested_parent_id)
    assert tl is not None
    call = next(i for i, e in enumerate(tl.entries) if e.child_run_id)
    shown, later = tl.entries[:call], tl.entries[call:]  # what a poll saw before the tool call ended
    running = [replace(c, status="running") for c in tl.children]
    assert place_children(shown, running, 0) == [synthetic.nested_child_id]
    placeholder = next(e for e in shown if e.kind == "nested_run")
    assert "· running ·" in placeholder.summary

    assert refresh_placeholders(shown, tl.children, 0)  # the next poll: the nested run has finished
    assert f"· {tl.children[0].status} ·" in placeholder.summary
    assert not refresh_placeholders(shown, tl.children, 0)

    shown += later  # then the tool call arrives
    assert refresh_placeholders(shown, tl.children, 0)
    assert [e.child_run_id for e in shown if e.child_run_id] == [synthetic.nested_child_id]
    assert [e.key for e in shown] == [e.key for e in tl.entries]


def test_costs_cover_nested_runs(synthetic) -> None:  # type: ignore[no-untyped-def]
    store = synthetic.open()
    parent = fetch_costs(store, synthetic.nested_parent_id)
    assert parent.runs == 2
    assert "reviewer" in {c.key for c in parent.by_agent} or "checker" in {c.key for c in parent.by_agent}
    run = next(r for r in fetch_runs(store).rows if r.run_id == synthetic.nested_parent_id)
    priced = sum(c.cost_usd or 0 for c in parent.by_model)
    assert priced == pytest.approx(run.cost_usd)
    unknown = [c for c in parent.by_model if c.key == "my-local-llama"]
    assert all(c.cost_usd is None and c.unpriced == c.calls for c in unknown)
    # The run's "≥" counts the calls with no known price in its nested runs too, as its cost adds theirs.
    assert run.unpriced_calls == sum(c.unpriced for c in parent.by_model) > 0


def test_compare_finds_the_divergence(synthetic) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    store = synthetic.open()
    a = fetch_timeline(store, synthetic.errored_run_id, lean=False)
    assert a is not None
    same = compare(a.entries, a.entries)
    assert same.identical and same.changes == 0
    steps = [e for e in a.entries if e.kind in ("message", "run_ended")]
    assert [r.left for r in same.rows] == steps  # steps are the messages and the ending, as `teamtape diff`
    k = next(i for i, e in enumerate(steps) if e.payload.get("type") == "TextMessage" and i > 3)
    changed = [replace(e, payload={**e.payload, "text": "x", "content": "something else"}) if e is steps[k] else e
               for e in a.entries]  # fmt: skip
    diff = compare(a.entries, changed)
    assert diff.divergence == k
    assert diff.rows[k].tag == "~" and diff.changes == 1
    # Rendered text, ids and timestamps of a message, and LLM calls moving around, are no difference.
    cosmetic = [replace(e, payload={**e.payload, "text": "reworded", "id": "x", "created_at": "y"})
                if e is steps[k] else e for e in a.entries]  # fmt: skip
    llm = [e for e in cosmetic if e.kind == "llm_call"]
    reordered = [e for e in cosmetic if e.kind != "llm_call"] + llm
    assert compare(a.entries, reordered).identical
    shorter = compare(a.entries, a.entries[:-2])  # lost its last message and its ending
    assert [r.tag for r in shorter.rows[-2:]] == ["-", "-"]


def test_compare_agrees_with_teamtape_replay(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real replay (`teamtape replay`, served from the recording) compares equal to its recording."""
    from tests.support.screen import teamtape_exe

    path = tmp_path / "store"
    subprocess.run([teamtape_exe(), "demo", "--store", str(path), "--only", "selector_research"], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    store = open_store(path)
    (original,) = [r.run_id for r in fetch_runs(store).rows]
    done = subprocess.run([teamtape_exe(), "replay", "--store", str(path), original], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "identical" in done.stdout, done.stdout + done.stderr
    (replay,) = [r for r in fetch_runs(store).rows if r.replay_of == original]
    a = fetch_timeline(store, original, lean=False)
    b = fetch_timeline(store, replay.run_id, lean=False)
    assert a is not None and b is not None
    assert compare(a.entries, b.entries).identical


def test_timeline_lines_leave_bulky_fields_for_the_inspector(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "s", create=True)
    w = store.writer()
    long_text = "word " * 20_000
    w.append(
        Event(
            "e0",
            "r1",
            0,
            1.0,
            "run_started",
            None,
            {"name": "t", "team_type": "X", "task": "go", "config": {"big": "x" * 50_000}},
        )
    )
    w.append(
        Event(
            "e1", "r1", 1, 2.0, "message", "bot", {"type": "TextMessage", "source": "bot", "text": long_text}
        )
    )
    w.append(Event("e2", "r1", 2, 3.0, "run_ended", None, {"status": "ok", "state": {"blob": "y" * 50_000}}))
    w.close()
    tl = fetch_timeline(store, "r1")
    assert tl is not None
    start, message, end = tl.entries
    assert "config" not in start.payload and "state" not in end.payload
    assert len(message.payload["text"]) == 2000 and message.summary.startswith("word word")
    full = fetch_detail(store, "r1", 1)
    assert full is not None and full.payload["text"] == long_text
    assert fetch_detail(store, "r1", 2).payload["state"] == {"blob": "y" * 50_000}  # type: ignore[union-attr]
    assert fetch_detail(store, "r1", 99) is None


def test_a_big_store_gives_a_first_page_of_its_newest_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from teamtape.tui import _data
    from tests.support.synthetic import build_synthetic_store

    info = build_synthetic_store(
        tmp_path / "big", runs=_data.FIRST_PAGE + 20, events=(_data.FIRST_PAGE + 20) * 8
    )
    pages: list[_data.RunsResult] = []
    result = fetch_runs(info.open(), first_page=pages.append)
    assert len(result.rows) == info.runs
    (page,) = pages
    roots = [r for r in page.rows if r.parent_run_id is None]
    assert len(roots) == _data.FIRST_PAGE
    newest = sorted((r for r in result.rows if r.parent_run_id is None), key=lambda r: r.started or 0)[
        -_data.FIRST_PAGE :
    ]
    assert {r.run_id for r in roots} == {r.run_id for r in newest}
    assert {r.run_id for r in page.rows if r.parent_run_id} <= {r.run_id for r in result.rows}


def test_synthetic_stores_are_reused_only_when_built_the_same_way(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.synthetic import build_synthetic_store

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every line it writes is a good event: the fold has nothing to say
        first = build_synthetic_store(tmp_path / "s", runs=6, events=120, reuse=True)
    db = first.open().layout.db
    stamp = db.stat().st_mtime_ns
    again = build_synthetic_store(tmp_path / "s", runs=6, events=120, reuse=True)
    assert again == first and db.stat().st_mtime_ns == stamp  # not rebuilt
    other = build_synthetic_store(tmp_path / "s", runs=7, events=140, reuse=True)
    assert other.runs == first.runs + 1 and len(fetch_runs(other.open()).rows) == other.runs


def test_the_cost_chart_tells_a_missing_price_from_unreported_usage() -> None:
    """Adding a price gives a cost only to the calls whose model had none: the chart says which is which."""
    import io

    from rich.console import Console

    from teamtape.tui._costs import CostChart
    from teamtape.tui._data import CostLine

    lines = [
        CostLine("gpt-4o-mini", 3, 100, 10, 0.01, unpriced=1, no_usage=1),
        CostLine("my-local-llama", 2, 50, 5, None, unpriced=2),
    ]
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(CostChart("By model", lines))
    text = " ".join(console.export_text().split())
    assert "2 call(s) with no known price (shown as ?): add prices in prices.toml" in text
    assert "1 streamed call(s) reported no token usage (shown as ?): ask for it with stream_options=" in text


def test_a_running_run_says_it_is_quiet_only_once_nothing_came_for_a_while() -> None:
    def entry(seq: int, ts: float, kind: str = "message", **payload: object) -> Entry:
        return Entry("r1", seq, ts, kind, "writer", Marker.TEXT, "", dict(payload))

    now = 1_000_000.0
    flowing = [entry(0, now - 30), entry(1, now - 2)]
    assert quiet_note(flowing, now) == ""  # events keep coming: nothing to say
    hung = [entry(0, now - 300), entry(1, now - 230, "llm_call_started", model="gpt-4o-mini")]
    assert quiet_note(hung, now) == "  no event for 3m50s · waiting on writer → gpt-4o-mini"
    assert quiet_note([entry(0, now - 60)], now) == "  no event for 1m00s"
