"""SVG snapshots of every screen (pytest-textual-snapshot). Update with ``pytest --snapshot-update``.

Deterministic by construction: a synthetic store with fixed ids and timestamps, opened by a relative
path (so no temporary directory name shows), times shown in UTC, fixed terminal sizes, no clocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from teamtape.store import open_store
from teamtape.tui import TeamtapeApp
from teamtape.tui._runs_model import RunLine
from teamtape.tui._tables import RunsTable, TimelineTable
from tests.support.screen import settle
from tests.support.synthetic import SyntheticStore, build_synthetic_store


@pytest.fixture(scope="module")
def snap_store(tmp_path_factory: pytest.TempPathFactory) -> SyntheticStore:
    return build_synthetic_store(tmp_path_factory.mktemp("snap") / "store", runs=12, events=600)


@pytest.fixture
def app(snap_store: SyntheticStore, monkeypatch: pytest.MonkeyPatch) -> TeamtapeApp:
    monkeypatch.chdir(snap_store.path.parent)
    return TeamtapeApp(open_store("store"), poll_interval=3600)


async def _open_run(pilot, run_id: str) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    table = pilot.app.screen.query_one(RunsTable)
    table.cursor = next(i for i, line in enumerate(table.lines) if line.key == run_id)
    await pilot.press("enter")
    await settle(pilot)


def test_runs_screen_80x24(snap_compare, app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_runs_screen_large(snap_compare, app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=(160, 40), run_before=settle)


def test_run_screen_llm_call(snap_compare, app, snap_store) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _open_run(pilot, snap_store.errored_run_id)
        table = pilot.app.screen.query_one(TimelineTable)
        table.cursor = next(i for i, e in enumerate(table.entries) if e.kind == "llm_call")
        await settle(pilot, 0.1)

    assert snap_compare(app, terminal_size=(140, 40), run_before=before)


def test_run_screen_narrow_error(snap_compare, app, snap_store) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _open_run(pilot, snap_store.errored_run_id)
        await pilot.press("e")
        await settle(pilot, 0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_nested_run_expanded(snap_compare, app, snap_store) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _open_run(pilot, snap_store.nested_parent_id)
        table = pilot.app.screen.query_one(TimelineTable)
        table.cursor = next(i for i, e in enumerate(table.entries) if e.child_run_id)
        await pilot.press("enter")
        await settle(pilot, 0.1)

    assert snap_compare(app, terminal_size=(140, 36), run_before=before)


def test_costs_screen(snap_compare, app, snap_store) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _open_run(pilot, snap_store.nested_parent_id)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(110, 30), run_before=before)


def test_compare_screen(snap_compare, app, snap_store) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        table = pilot.app.screen.query_one(RunsTable)
        runs = [i for i, line in enumerate(table.lines) if isinstance(line, RunLine) and line.depth == 0]
        table.marked = pilot.app.marked = table.lines[runs[0]].key  # as `m` does, without its toast
        table.cursor = runs[1]
        await pilot.press("d")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(140, 36), run_before=before)


def test_help_screen(snap_compare, app) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 34), run_before=before)


def test_empty_store(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = TeamtapeApp(open_store("store", create=True), poll_interval=3600)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
