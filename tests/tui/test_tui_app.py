"""The TUI driven through Textual's pilot on real stores: every screen and key path a user takes."""

from __future__ import annotations

import asyncio
import io
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from teamtape.store import Event, open_store
from teamtape.tui import TeamtapeApp
from teamtape.tui._compare_screen import CompareScreen
from teamtape.tui._costs import CostScreen
from teamtape.tui._format import fmt_cost, fmt_tokens
from teamtape.tui._help import HelpScreen
from teamtape.tui._inspector import Inspector
from teamtape.tui._run_screen import RunScreen
from teamtape.tui._runs_model import RunLine
from teamtape.tui._runs_screen import RunsScreen
from teamtape.tui._tables import CompareTable, RunsTable, TimelineTable
from tests.support.screen import screen_text, settle, teamtape_exe


def _runs(app: TeamtapeApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


def _timeline(app: TeamtapeApp) -> TimelineTable:
    return app.screen.query_one(TimelineTable)


def _inspector_text(app: TeamtapeApp) -> str:
    """All of the inspector's content as text (not only the part scrolled into view)."""
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(app.screen.query_one(Inspector).renderable)
    return console.export_text()


async def _open(pilot, app: TeamtapeApp, run_id: str) -> None:  # type: ignore[no-untyped-def]
    table = _runs(app)
    table.cursor = next(i for i, line in enumerate(table.lines) if line.key == run_id)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, RunScreen) and app.screen.run_id == run_id


async def test_runs_table_lists_runs_with_status_and_cost(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert f"{synthetic.runs} runs" in text
        for word in ("✗ error", "☠ crashed", "● ok", "◇ session", "└ inner_team", "ConnectionError"):
            assert word in text, word
        assert "$" in text and "Started▼" in text


async def test_open_a_run_read_the_conversation_and_go_back(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        await _open(pilot, app, synthetic.errored_run_id)
        text = screen_text(app)
        assert "Task " in text and "summarise the quarterly sales numbers" in text
        assert "◆ llm" in text and "› text" in text
        assert f"replay: teamtape replay --store {synthetic.path} {synthetic.errored_run_id}" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        assert _runs(app).current.key == synthetic.errored_run_id  # the cursor stayed on the run


async def test_jump_to_the_first_error_shows_its_traceback(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        await _open(pilot, app, synthetic.errored_run_id)
        await pilot.press("e")
        await settle(pilot)
        entry = _timeline(app).current
        assert entry is not None and entry.is_error
        if entry.kind != "run_ended":  # a failed tool call comes first in some seeds: go to the run's end
            while _timeline(app).current.kind != "run_ended":
                await pilot.press("n")
            await settle(pilot)
        text = _inspector_text(app)
        assert "ConnectionError: sales API unreachable" in text
        assert "Traceback (most recent call last)" in text


async def test_llm_call_inspector_resolves_the_request(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 50)) as pilot:
        await settle(pilot)
        await _open(pilot, app, synthetic.errored_run_id)
        table = _timeline(app)
        table.cursor = next(i for i, e in enumerate(table.entries) if e.kind == "llm_call")
        await settle(pilot)
        text = _inspector_text(app)
        for word in (
            "model",
            "latency",
            "tokens",
            "cost",
            "Response",
            "Request:",
            "SystemMessage",
            "You are the writer of team writers.",
        ):
            assert word in text, word
        await pilot.press("enter")  # enter maximizes the inspector; escape gives the timeline back
        await pilot.pause()
        assert app.screen.maximized is app.screen.query_one(Inspector)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.maximized is None and isinstance(app.screen, RunScreen)


async def test_nested_run_expands_in_place_and_collapses(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        await _open(pilot, app, synthetic.nested_parent_id)
        table = _timeline(app)
        before = len(table.entries)
        table.cursor = next(
            i for i, e in enumerate(table.entries) if e.child_run_id == synthetic.nested_child_id
        )
        await pilot.press("enter")
        await settle(pilot)
        inserted = table.entries[table.cursor + 1 :][: len(table.entries) - before]
        assert len(table.entries) > before
        assert inserted[0].run_id == synthetic.nested_child_id and inserted[0].depth == 1
        assert "▾ nested" in screen_text(app) and "│ checker" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert len(table.entries) == before


async def test_cost_breakdown_by_agent_and_model(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _open(pilot, app, synthetic.nested_parent_id)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CostScreen)
        text = screen_text(app)
        assert "By agent" in text and "By model" in text and "across 2 runs" in text
        assert "█" in text and "calls" in text
        assert "reviewer" in text or "checker" in text  # the nested run's agents count too
        # Its tokens are those of the same runs as its cost, nested ones included.
        (tree,) = synthetic.open().query(
            "SELECT sum(input_tokens) AS i FROM llm_calls WHERE run_id IN (?, ?)",
            [synthetic.nested_parent_id, synthetic.nested_child_id],
        )
        assert f"· {fmt_tokens(tree['i'])} input ·" in text
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_filter_sort_and_errors_keys(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"team:swarm")
        await pilot.press("enter")
        await settle(pilot)
        runs = [line.run for line in _runs(app).lines if isinstance(line, RunLine)]
        assert runs and all(r.team_type == "Swarm" for r in runs)
        assert f"of {synthetic.runs} runs · filter: team:swarm" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert len([x for x in _runs(app).lines if isinstance(x, RunLine)]) == synthetic.runs

        await pilot.press("slash", *"status:done", "enter")
        await settle(pilot)
        assert "Unknown status 'done'" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("e")
        await settle(pilot)
        shown = [line for line in _runs(app).lines if isinstance(line, RunLine)]
        assert {synthetic.errored_run_id, synthetic.crashed_run_id} <= {line.key for line in shown}
        # ...and the runs that went on after a tool or model call failed, marked as such.
        went_on = [line for line in shown if line.run.status not in ("error", "crashed")]
        assert went_on and all(line.run.failed_calls > 0 for line in went_on)
        assert f"● ok ⚠{went_on[0].run.failed_calls}" in screen_text(app)
        await pilot.press("e")
        await settle(pilot)

        await pilot.press("s")  # started → run name
        assert "Run / team▲" in screen_text(app)
        titles = [x.run.title.lower() for x in _runs(app).lines if isinstance(x, RunLine) and x.depth == 0]
        assert titles == sorted(titles)
        await pilot.press("S")
        assert "Run / team▼" in screen_text(app)
        await pilot.click(RunsTable, offset=(140, 0))  # a click on a header sorts by that column
        await pilot.pause()
        assert _runs(app).sort_column == "duration"


async def test_a_filter_given_while_a_background_refresh_reads_is_applied(synthetic, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The periodic refresh may still be reading when the user presses `e`: the filter must not be lost."""
    import threading

    from teamtape.tui import _data

    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        reading, release = threading.Event(), threading.Event()
        real_fingerprint = _data.fetch_fingerprint

        def slow_fingerprint(store):  # type: ignore[no-untyped-def]
            reading.set()
            release.wait(timeout=10)
            return real_fingerprint(store)

        monkeypatch.setattr(_data, "fetch_fingerprint", slow_fingerprint)
        app.screen.poll()  # what the interval timer does
        assert await asyncio.to_thread(reading.wait, 10)
        await pilot.press("e")
        release.set()
        await settle(pilot)
        shown = [line for line in _runs(app).lines if isinstance(line, RunLine)]
        assert {synthetic.errored_run_id, synthetic.crashed_run_id} <= {line.key for line in shown}
        assert all(line.run.status in ("error", "crashed") or line.run.failed_calls for line in shown)
        assert "filter: status:error,crashed,failures" in screen_text(app)


async def test_copy_id_replay_command_and_help(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = _runs(app)
        table.cursor = next(i for i, line in enumerate(table.lines) if isinstance(line, RunLine))
        run_id = table.current.key
        await pilot.press("y")
        assert app.clipboard == run_id
        await pilot.press("p")
        assert app.clipboard == f"teamtape replay --store {synthetic.path} {run_id}"
        # On a session's header line the keys say where to go instead of doing nothing.
        table.cursor = next(i for i, line in enumerate(table.lines) if not isinstance(line, RunLine))
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard.endswith(run_id)
        notes = " ".join(n.message for n in app._notifications)
        assert "This line heads a session: move to one of its runs to copy its id." in notes
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Keys on this screen (runs)" in text and "status:error,crashed" in text
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_compare_a_run_with_its_replay(fresh_synthetic) -> None:  # type: ignore[no-untyped-def]
    store = fresh_synthetic.open()
    original = fresh_synthetic.errored_run_id
    events = store.events(original)
    writer = store.writer()
    changed_at = next(
        e.seq for e in events if e.kind == "message" and e.payload.get("type") == "TextMessage" and e.seq > 5
    )
    for e in events:
        payload = dict(e.payload)
        if e.kind == "run_started":
            payload["replay_of"] = original
        if e.seq == changed_at:
            payload["text"] = payload["content"] = "a different answer"
        writer.append(
            Event(f"replay-{e.seq}", "replayrun0000001", e.seq, e.ts + 3600, e.kind, e.agent, payload)
        )
    writer.close()
    app = TeamtapeApp(store)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await _open(pilot, app, "replayrun0000001")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        table = app.screen.query_one(CompareTable)
        text = screen_text(app)
        assert "Diverged at step" in text and "1 differing step(s)" in text
        row = table.comparison.rows[table.cursor]
        assert row.tag == "~" and row.right is not None and row.right.payload["text"] == "a different answer"
        assert "a different answer" in text
        await pilot.press("n")  # no further differences
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_mark_and_compare_from_the_runs_screen(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = _runs(app)
        table.cursor = next(i for i, line in enumerate(table.lines) if line.key == synthetic.errored_run_id)
        await pilot.press("d")
        assert isinstance(app.screen, RunsScreen)  # nothing marked yet: a hint, no crash
        await pilot.press("m")
        assert "★" in screen_text(app)
        table.cursor = next(i for i, line in enumerate(table.lines) if line.key == synthetic.crashed_run_id)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert "Diverged at step" in screen_text(app)


async def test_empty_store_shows_a_friendly_empty_state(tmp_path: Path) -> None:
    app = TeamtapeApp(open_store(tmp_path / "empty", create=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "No runs recorded yet" in text and "teamtape demo" in text
        await pilot.press("enter", "d", "y", "c")  # nothing to act on: nothing breaks
        assert isinstance(app.screen, RunsScreen)


async def test_a_cheap_run_with_an_unpriced_call_shows_its_whole_lower_bound(tmp_path: Path) -> None:
    store = open_store(tmp_path / "cheap", create=True)
    writer = store.writer()
    started = {"name": "cheap", "team_type": "RoundRobinGroupChat", "task": "go", "journal": writer.name}
    events = [("run_started", started)]
    for i, model in enumerate(["gpt-4o-mini", "my-finetune-v3"]):  # the second has no known price
        usage = {"input_tokens": 40, "output_tokens": 3, "cache_read_tokens": 0}
        events.append(
            ("llm_call", {"call_id": f"c{i}", "model": model, "provider": "openai", "usage": usage})
        )
    events.append(("run_ended", {"status": "ok", "duration_ms": 50}))
    for seq, (kind, payload) in enumerate(events):
        writer.append(Event(f"cheap-{seq}", "cheaprun00000001", seq, 1732370400.0 + seq, kind, None, payload))
    writer.close()
    cost = store.query("SELECT cost_usd, unpriced_calls FROM runs")[0]
    shown = fmt_cost(cost["cost_usd"], unpriced=cost["unpriced_calls"])
    assert shown.startswith("≥$0.00000") and len(shown) > 9  # the width the Cost column once had

    app = TeamtapeApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert shown in screen_text(app)  # not cut to "$0.00000…": the "≥" says calls are left out


async def test_small_terminal_keeps_the_essentials(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Status" in text and "Cost" in text and "Stop reason" not in text
        assert all(len(line) <= 80 for line in text.splitlines())
        footer = text.splitlines()[-1]  # cut short at this width: the way to help and out stay
        assert "⏎ Open" in footer and "? Help" in footer and "q Quit" in footer
        table = _runs(app)
        for _ in range(len(table.shown_columns) + 1):  # s goes round the columns this width shows
            await pilot.press("s")
            assert table.sort_column in table.shown_columns
        await _open(pilot, app, synthetic.errored_run_id)
        assert app.screen.has_class("-narrow")
        timeline = _timeline(app).region
        inspector = app.screen.query_one(Inspector).region
        assert inspector.y > timeline.y  # narrow: the inspector sits below the timeline
        footer = screen_text(app).splitlines()[-1]
        assert "⏎ Expand/inspect" in footer and "? Help" in footer and "q Quit" in footer
        # Enter shows the event's inspector whole; esc puts it back, and the arrows move the timeline again.
        row = _timeline(app).cursor
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.maximized is app.screen.query_one(Inspector)
        await pilot.press("escape", "down")
        await settle(pilot)
        assert app.screen.maximized is None and isinstance(app.screen, RunScreen)
        assert _timeline(app).cursor == row + 1


async def test_live_new_runs_appear_and_running_runs_update(tmp_path: Path) -> None:
    store = open_store(tmp_path / "live", create=True)
    writer = store.writer()  # a live recording process: its journal stays locked
    base = 1732370400.0

    def emit(seq: int, kind: str, agent: str | None, payload: dict) -> None:  # type: ignore[type-arg]
        writer.append(Event(f"live-{seq}", "liverun000000001", seq, base + seq, kind, agent, payload))

    app = TeamtapeApp(store, poll_interval=0.1)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert "No runs recorded yet" in screen_text(app)
        emit(
            0,
            "run_started",
            None,
            {
                "name": "live_team",
                "team_type": "RoundRobinGroupChat",
                "task": "count",
                "journal": writer.name,
                "session_id": "s1",
            },
        )
        emit(1, "message", "counter", {"type": "TextMessage", "source": "counter", "text": "one"})
        for _ in range(50):
            await pilot.pause(0.05)
            if _runs(app).lines:
                break
        await settle(pilot)
        assert "live_team" in screen_text(app) and "◐ running" in screen_text(app)

        await _open(pilot, app, "liverun000000001")
        assert "one" in screen_text(app)
        assert "replay: once the run has ended" in screen_text(app)  # a replay needs the whole recording
        await pilot.press("p")
        await settle(pilot)
        assert "Run liverun0 is still running" in [n.title for n in app._notifications]
        assert "teamtape replay" not in app.clipboard
        await pilot.press("f")  # follow: the cursor goes to the newest event and stays with the newest
        await settle(pilot)
        assert _timeline(app).cursor == len(_timeline(app).entries) - 1 > 0
        call = {"call_id": "liverun000000001-c1", "model": "gpt-4o-mini", "provider": "openai", "client": "X"}
        emit(2, "llm_call_started", "counter", call)  # the model is thinking: the call has no answer yet
        for _ in range(50):
            await pilot.pause(0.05)
            if "no answer yet" in screen_text(app):
                break
        assert "gpt-4o-mini · sent, no answer yet" in screen_text(app)
        # Nothing recorded for long (these events are from 2024): the header says so, and on what it waits.
        assert "no event for" in screen_text(app) and "waiting on counter → gpt-4o-mini" in screen_text(app)
        answer = {"content": "two, live", "finish_reason": "stop"}
        usage = {"input_tokens": 10, "output_tokens": 2, "cache_read_tokens": 0}
        emit(3, "llm_call", "counter", {**call, "duration_ms": 900.0, "response": answer, "usage": usage})
        emit(4, "message", "counter", {"type": "TextMessage", "source": "counter", "text": "two, live"})
        emit(5, "run_ended", None, {"status": "ok", "stop_reason": "done counting", "duration_ms": 3000})
        for _ in range(50):
            await pilot.pause(0.05)
            if "done counting" in screen_text(app):
                break
        await settle(pilot)
        text = screen_text(app)
        assert "two, live" in text and "done counting" in text and "● ok" in text
        assert f"replay: teamtape replay --store {store.root} liverun000000001" in text
        assert "no answer yet" not in text, "the answered call is listed once, by its answer"
        assert "no event for" not in text  # the run ended
        assert _timeline(app).cursor == len(_timeline(app).entries) - 1
        await pilot.press("escape")
        for _ in range(50):
            await pilot.pause(0.05)
            if "● ok" in screen_text(app):
                break
        assert "● ok" in screen_text(app)
    writer.close()


async def test_an_expanded_nested_run_goes_on_live_under_its_line(tmp_path: Path) -> None:
    """A nested run expanded while it runs keeps growing, and ends, under its line (it was a snapshot)."""
    store = open_store(tmp_path / "live", create=True)
    writer = store.writer()  # a live recording process: its journal stays locked
    base, seqs = 1732370400.0, {"parent00000000001": 0, "child000000000001": 0}

    def emit(run: str, kind: str, agent: str | None, payload: dict) -> None:  # type: ignore[type-arg]
        seq = seqs[run]
        seqs[run] += 1
        writer.append(Event(f"{run}-{seq}", run, seq, base + sum(seqs.values()), kind, agent, payload))

    started = {"team_type": "RoundRobinGroupChat", "task": "go", "journal": writer.name}
    emit("parent00000000001", "run_started", None, {**started, "name": "outer", "session_id": "s1"})
    emit("parent00000000001", "message", "user", {"type": "TextMessage", "source": "user", "text": "go"})
    emit(
        "child000000000001",
        "run_started",
        None,
        {**started, "name": "inner", "session_id": "s2", "parent_run_id": "parent00000000001"},
    )
    emit(
        "child000000000001",
        "message",
        "helper",
        {"type": "TextMessage", "source": "helper", "text": "first step"},
    )

    app = TeamtapeApp(store, poll_interval=0.1)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await _open(pilot, app, "parent00000000001")
        table = _timeline(app)
        table.cursor = next(i for i, e in enumerate(table.entries) if e.child_run_id)
        await pilot.press("enter")  # expand the nested run
        for _ in range(50):
            await pilot.pause(0.05)
            if any(e.depth == 1 for e in table.entries):
                break
        assert "first step" in screen_text(app) and "second step" not in screen_text(app)

        emit(
            "child000000000001",
            "message",
            "helper",
            {"type": "TextMessage", "source": "helper", "text": "second step"},
        )
        emit(
            "child000000000001",
            "run_ended",
            None,
            {"status": "ok", "stop_reason": "inner done", "duration_ms": 5.0},
        )
        for _ in range(60):
            await pilot.pause(0.05)
            if "second step" in screen_text(app):
                break
        await settle(pilot)
        nested = [e.summary for e in _timeline(app).entries if e.depth == 1]
        assert sum("first step" in line for line in nested) == 1 and any(
            "second step" in line for line in nested
        )
    writer.close()


async def test_a_store_that_breaks_while_open_is_reported_not_fatal(fresh_synthetic) -> None:  # type: ignore[no-untyped-def]
    store = fresh_synthetic.open()
    app = TeamtapeApp(store, poll_interval=0.1)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        db = store.layout.db
        db.rename(db.with_suffix(".moved"))
        db.write_bytes(b"this is not a database")
        await pilot.press("r")
        await settle(pilot, 0.2)
        assert "store unreadable" in screen_text(app)
        assert isinstance(app.screen, RunsScreen)  # still running, still usable
        await pilot.pause(0.6)  # several polls fail the same way: the failure is told once
        assert len(app._notifications) == 1
        db.unlink()
        db.with_suffix(".moved").rename(db)
        for _ in range(40):  # the next poll finds the store readable again
            await pilot.pause(0.05)
            if "store unreadable" not in screen_text(app):
                break
        assert f"{fresh_synthetic.runs} runs" in screen_text(app)


async def test_real_autogen_runs_from_the_demo(demo_store: Path) -> None:
    app = TeamtapeApp(open_store(demo_store))
    async with app.run_test(size=(150, 45)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        for name in ("swarm_support", "selector_research", "memory_and_agent_tool", "failing_tool_run"):
            assert name in text, name
        table = _runs(app)
        swarm = next(
            line
            for line in table.lines
            if isinstance(line, RunLine)
            and line.run.name == "swarm_support"
            and line.run.stop_reason
            and "Handoff" in line.run.stop_reason
        )
        await _open(pilot, app, swarm.run.run_id)
        text = screen_text(app)
        assert "⇢ handoff" in text and "→ flights_refunder" in text and "◆ llm" in text
        assert "gpt-4o" in text
        await pilot.press("escape")
        await settle(pilot)
        failed = next(
            line for line in table.lines if isinstance(line, RunLine) and line.run.name == "failing_tool_run"
        )
        await _open(pilot, app, failed.run.run_id)
        # The model call that got a 500 reported no usage: its tokens are unknown, not blank or zero;
        # it says it failed (not "$0.0000") and that the SDK tried it again.
        timeline = screen_text(app)
        assert "?→? tok · " in timeline and " · 2 retries · failed" in timeline
        # The run's error reads as AutoGen's and the provider's traceback, without teamtape's frames.
        screen = app.screen
        await pilot.press("e")
        for _ in range(len(screen.timeline.entries)):
            if screen.timeline.current.kind == "run_ended":
                break
            await pilot.press("n")
        await settle(pilot)
        inspected = _inspector_text(app).replace("\n", "")  # long paths fold: read them whole
        assert "InternalServerError" in inspected and "_openai_client.py" in inspected
        assert "/recorder/_" not in inspected, "teamtape's own wrapper frames are left out"
        assert "teamtape frames left out" in inspected
        # The failed model call's inspector: unknown token counts are '?', and it lists every message
        # the model was sent (the call is stored as a delta on the agent's earlier call).
        for _ in range(len(screen.timeline.entries)):
            await pilot.press("up")
            await settle(pilot)
            if screen.timeline.current.kind == "llm_call":
                break
        failed_call = _inspector_text(app)
        assert "? in · ? out" in failed_call and "None" not in failed_call
        assert "retried 2× after HTTP 500 ×2" in failed_call  # the openai SDK's own attempts
        assert "Request: 6 message(s)" in failed_call and "SystemMessage" in failed_call


@pytest.mark.parametrize("case", ["missing", "corrupt"])
def test_cli_refuses_a_missing_or_corrupt_store(tmp_path: Path, case: str) -> None:
    path = tmp_path / "store"
    if case == "corrupt":
        path.mkdir()
        (path / "teamtape.duckdb").write_bytes(b"garbage" * 100)
    done = subprocess.run(
        [teamtape_exe(), "tui", "--store", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    expected = "No teamtape store at" if case == "missing" else "is not a readable teamtape database"
    assert expected in done.stderr
    if case == "missing":
        assert "`teamtape tui --wait` opens it once a recording starts" in done.stderr


def test_tui_wait_opens_a_store_once_a_recording_starts(tmp_path: Path) -> None:
    """Someone opens the TUI first and starts their team after: ``--wait`` waits for the store."""
    import threading

    from teamtape.cli._tui import wait_for_store

    path, said = tmp_path / "later", []
    timer = threading.Timer(0.3, lambda: open_store(path, create=True).writer().close())
    timer.start()
    wait_for_store(path, 0.05, said.append)
    timer.join()
    assert open_store(path).exists and said == [
        f"waiting for the first recording into {path} (Ctrl-C to stop)..."
    ]
    wait_for_store(path, 0.05, said.append)  # there now: no wait, nothing said
    assert len(said) == 1


def test_run_tui_raises_for_a_missing_store(tmp_path: Path) -> None:
    from teamtape.store import StoreNotFoundError
    from teamtape.tui import run_tui

    with pytest.raises(StoreNotFoundError, match="teamtape demo"):
        run_tui(tmp_path / "nowhere")


def test_the_ui_never_waits_on_the_store(synthetic) -> None:  # type: ignore[no-untyped-def]
    """While another process holds the store's lock, the app still paints and answers keys."""
    import fcntl
    import os

    store = synthetic.open()

    async def scenario() -> None:
        fd = os.open(store.layout.lock, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            app = TeamtapeApp(store)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause(0.3)
                assert "loading" in screen_text(app)
                await pilot.press("question_mark")
                await pilot.pause()
                assert isinstance(app.screen, HelpScreen)
                await pilot.press("escape")
                fcntl.flock(fd, fcntl.LOCK_UN)
                await settle(pilot, 0.2)
                assert f"{synthetic.runs} runs" in screen_text(app)
        finally:
            os.close(fd)

    asyncio.run(scenario())


async def test_mouse_double_click_opens_a_run(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        table = _runs(app)
        row = next(i for i, line in enumerate(table.lines) if line.key == synthetic.errored_run_id)
        await pilot.click(RunsTable, offset=(30, row + 1))  # row 0 of the widget is the header
        assert table.cursor == row and isinstance(app.screen, RunsScreen)
        await pilot.double_click(RunsTable, offset=(30, row + 1))
        await settle(pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_id == synthetic.errored_run_id


async def test_themes_change_the_colours(synthetic) -> None:  # type: ignore[no-untyped-def]
    app = TeamtapeApp(synthetic.open())
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = _runs(app)
        dark = table.cstyle("status--error").color
        app.theme = "gruvbox"
        await pilot.pause()
        light = table.cstyle("status--error").color
        assert dark is not None and light is not None and dark != light
        assert "✗ error" in screen_text(app)


async def test_runs_recorded_by_another_process_appear_live(tmp_path: Path) -> None:
    """A real recorder (`teamtape demo`, AutoGen teams over HTTP) writes while the TUI folds and reads."""
    store = open_store(tmp_path / "shared", create=True)
    app = TeamtapeApp(store, poll_interval=0.1)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        recorder = await asyncio.create_subprocess_exec(
            teamtape_exe(), "demo", "--store", str(store.root), "--only", "swarm_support",
            "--only", "selector_research", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        seen_while_recording = False
        while recorder.returncode is None:
            await pilot.pause(0.1)
            seen_while_recording |= bool(_runs(app).lines)
            try:
                await asyncio.wait_for(recorder.wait(), 0.01)
            except TimeoutError:
                pass
        stderr = (await recorder.stderr.read()).decode() if recorder.stderr else ""
        assert recorder.returncode == 0, stderr  # the TUI's reads never broke the recording
        for _ in range(60):
            await pilot.pause(0.05)
            text = screen_text(app)
            if "selector_research" in text and "◐ running" not in text:
                break
        text = screen_text(app)
        assert "swarm_support" in text and "selector_research" in text and "◐ running" not in text
        assert seen_while_recording  # runs showed up while the other process was still recording


def test_stream_inspector_shows_chunk_timings() -> None:
    from teamtape.tui._inspector import render_entry
    from teamtape.tui._timeline import make_entry

    entry = make_entry("r", 3, 10.5, "message_chunks", "bot",
                       {"n": 3, "text": "hello there you", "first_ts": 10.2, "offsets_ms": [0, 40.0, 130.0]})  # fmt: skip
    assert entry is not None and entry.summary.startswith("3 chunks over 130ms")
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(render_entry(entry, 10.0))
    text = console.export_text()
    assert (
        "first chunk    +0.200s" in text and "65ms mean · 90ms longest" in text and "hello there you" in text
    )


async def test_hostile_text_is_shown_not_obeyed(tmp_path: Path) -> None:
    """Escape sequences and markup in recorded text, or typed into the filter, never reach the terminal raw."""
    store = open_store(tmp_path / "s", create=True)
    w = store.writer()
    evil = "\x1b[2J\x1b]52;c;ZXZpbA==\x07[bold red]not markup[/] done"
    w.append(Event("e0", "evil0000000000001", 0, 1.0, "run_started", None,
                   {"name": "[b]evil\x1b[31m", "team_type": "X", "task": evil}))  # fmt: skip
    w.append(Event("e1", "evil0000000000001", 1, 2.0, "message", "bot\x1b[5m",
                   {"type": "TextMessage", "source": "bot\x1b[5m", "text": evil}))  # fmt: skip
    w.append(Event("e2", "evil0000000000001", 2, 3.0, "run_ended", None, {"status": "error",
                   "error": {"type": "ValueError", "message": evil, "traceback": evil}}))  # fmt: skip
    w.close()
    app = TeamtapeApp(store)
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"[red]x", "enter")  # markup typed into the filter is just text
        await settle(pilot)
        assert "filter: [red]x" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await _open(pilot, app, "evil0000000000001")
        await pilot.press("down", "down")
        await settle(pilot)
        text = screen_text(app) + _inspector_text(app)
        assert "\x1b" not in text and "\x07" not in text
        assert "␛[2J" in text and "[bold red]not markup[/] done" in text and "[b]evil␛[31m" in text


async def test_a_new_run_does_not_move_the_line_being_read(tmp_path: Path) -> None:
    store = open_store(tmp_path / "many", create=True)
    writer = store.writer()  # a live recording process: its journal stays locked
    base = 1732370400.0

    def add_run(i: int) -> None:
        run_id = f"run{i:013d}"
        started = {
            "name": f"team{i}",
            "team_type": "RoundRobinGroupChat",
            "task": "go",
            "journal": writer.name,
        }
        writer.append(Event(f"{run_id}-0", run_id, 0, base + i, "run_started", None, started))
        writer.append(Event(f"{run_id}-1", run_id, 1, base + i + 0.5, "run_ended", None, {"status": "ok"}))

    for i in range(40):
        add_run(i)
    app = TeamtapeApp(store, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = _runs(app)
        table.cursor = 35  # scrolled down...
        await settle(pilot)
        table.cursor = 25  # ...and back up a little: reading a run in the middle of the screen
        await settle(pilot)
        reading, row_on_screen = table.current.key, table.cursor - int(table.scroll_y)
        assert int(table.scroll_y) > 0 and 0 < row_on_screen < 15
        add_run(40)  # newest first: it lands above the line being read
        for _ in range(50):
            await pilot.pause(0.05)
            if len(table.lines) == 41:
                break
        await settle(pilot)
        assert table.current.key == reading
        assert table.cursor - int(table.scroll_y) == row_on_screen
    writer.close()


async def test_a_scripts_own_model_call_offers_its_tape_not_a_replay(tmp_path: Path) -> None:
    from autogen_core.models import UserMessage

    import teamtape
    from teamtape.demo.server import ScriptedOpenAIServer

    with ScriptedOpenAIServer(["Paris."]) as server:
        model = server.client("gpt-4o-mini", api_key="tt-test-key-0123456789abcdefghij")
        async with teamtape.record(store=tmp_path / "direct"):
            await model.create([UserMessage(content="Capital of France?", source="user")])
        await model.close()
    store = open_store(tmp_path / "direct")
    (run,) = store.query("SELECT run_id FROM runs")
    app = TeamtapeApp(store)
    async with app.run_test(size=(220, 30)) as pilot:
        await settle(pilot)
        assert "OpenAIChatCompletionClient" in screen_text(app) and "Capital of France?" not in screen_text(
            app
        )
        await _open(pilot, app, run["run_id"])
        text = screen_text(app)
        assert (
            f"tape: teamtape export tape --store {store.root} {run['run_id']} {run['run_id']}.tape.json"
            in text
        )
        assert "replay:" not in text and "◆ llm" in text
