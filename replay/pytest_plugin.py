"""The teamtape pytest plugin: record a test's AutoGen team runs once, replay them in every run after.

Mark a test (sync or async; works with pytest-asyncio) and build the team as usual, with its real
model clients::

    @pytest.mark.teamtape
    async def test_refund(): ...

    # or ask for the fixture, to look at what was served
    async def test_refund(teamtape_replay): ...

The recording lives next to the test module, in ``tapes/<module>/<test>.tape.json`` (a tape file, see
``teamtape export tape``). ``--record-mode`` decides what happens:

- ``none`` (default, for CI): replay only; a missing tape, a request the tape does not hold, or a
  replay that diverges from the tape fails the test with the diff. Nothing reaches the network and
  no tool side effect is repeated.
- ``once``: record when the tape is missing (real model calls), replay otherwise.
- ``new_episodes``: replay what matches, send the rest to the real model, rewrite the tape.
- ``all``: re-record everything.

Options of the marker: ``tape="name"`` (file name under ``tapes/<module>/``), ``execute_tools=True``
(run real tools and memory instead of serving their recorded results), ``matchers=[...]`` (what a
request must share with a recorded one to be served it; see ``teamtape.replay.DEFAULT_MATCHERS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MARKER = "teamtape"
FIXTURE = "teamtape_replay"
_KEY = pytest.StashKey["TapeUse"]()
_MISSING = pytest.StashKey[str]()
PYTEST_RERECORD_HINT = "If the change is intended, re-record: pytest --record-mode=all (or new_episodes)."


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("teamtape", "teamtape: record AutoGen team runs once, replay them offline")
    group.addoption(
        "--record-mode",
        action="store",
        default=None,
        metavar="MODE",
        help="none (default: replay only, never the network), once, new_episodes or all",
    )
    parser.addini("teamtape_record_mode", "default --record-mode for teamtape tests", default="none")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(tape=None, execute_tools=False, matchers=None): record this test's AutoGen team runs once into "
        "tapes/<module>/<test>.tape.json and replay them afterwards (see --record-mode)",
    )


def _mode_name(config: pytest.Config) -> str:
    return str(config.getoption("--record-mode") or config.getini("teamtape_record_mode") or "none")


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"teamtape: record mode {_mode_name(config)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(MARKER) is not None and FIXTURE not in getattr(
            item, "fixturenames", [FIXTURE]
        ):
            item.fixturenames.append(FIXTURE)  # type: ignore[attr-defined]


def tape_path(item: pytest.Item, name: str | None = None) -> Path:
    """Where a test's tape lives: ``<module dir>/tapes/<module>/<test>.tape.json``."""
    module = Path(str(item.fspath))
    stem = name or re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")
    if not stem.endswith(".json"):
        stem += ".tape.json"
    return module.parent / "tapes" / module.stem / stem


@dataclass
class TapeUse:
    """What the ``teamtape_replay`` fixture gives a test.

    Attributes:
        path: the tape file.
        mode: the effective record mode (``once`` resolved to ``none`` or ``all``).
        session: the :class:`~teamtape.replay.ReplaySession` serving the test (``session.stats``).
        store: the temporary store the test's runs are recorded into.
    """

    path: Path
    mode: Any
    session: Any
    store: Any
    recording: Any = None

    @property
    def replaying(self) -> bool:
        return self.mode.value == "none"


@pytest.fixture
def teamtape_replay(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TapeUse]:
    """Serve the test's tape to every AutoGen model client, tool and memory (or record it)."""
    import teamtape
    from teamtape.replay import DEFAULT_MATCHERS, RecordMode, ReplayError, ReplaySession, read_tape, serving

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    path = tape_path(request.node, options.get("tape"))
    try:
        mode = RecordMode.parse(_mode_name(request.config))
    except ReplayError as e:
        raise pytest.UsageError(str(e)) from None
    exists = path.exists()
    if mode is RecordMode.NONE and not exists:
        request.node.stash[_MISSING] = (
            f"teamtape: no tape for this test at {path}. Record it once (this calls the real model): "
            "pytest --record-mode=once"
        )
        yield TapeUse(path, mode, None, None)
        return
    tape = read_tape(path) if exists and mode is not RecordMode.ALL else None
    if mode is RecordMode.ONCE:
        mode = RecordMode.NONE if tape is not None else RecordMode.ALL
    if mode is RecordMode.NEW_EPISODES and tape is None:
        mode = RecordMode.ALL
    session = ReplaySession(
        tape,
        mode=mode,
        execute_tools=bool(options.get("execute_tools", False)),
        matchers=options.get("matchers") or DEFAULT_MATCHERS,
        rerecord_hint=PYTEST_RERECORD_HINT,
    )
    store_dir = tmp_path_factory.mktemp("teamtape-store")
    use = TapeUse(path, mode, session, None)
    request.node.stash[_KEY] = use
    with (
        teamtape.record(store=store_dir, labels={"pytest": request.node.nodeid}) as recording,
        serving(session),
    ):
        use.recording = recording
        use.store = recording.store
        yield use
    if mode is not RecordMode.NONE and _passed(request.node):
        _write(use)


def _passed(item: pytest.Item) -> bool:
    report = getattr(item, "_teamtape_call_report", None)
    return report is None or report.passed


def _write(use: TapeUse) -> None:
    from teamtape.replay import Tape, write_tape

    tape = Tape.from_runs(use.store, use.recording.run_ids)
    write_tape(tape, use.path)


_OUTCOMES = (pytest.skip.Exception, pytest.xfail.Exception, pytest.exit.Exception, KeyboardInterrupt)
"""What a test raises to say how it ends, not that it failed: passed on untouched."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    missing = item.stash.get(_MISSING, None)
    if missing is not None:
        pytest.fail(missing, pytrace=False)  # before the test body: it would reach the real model
    test_error: BaseException | None = None
    try:
        result = yield
    except _OUTCOMES:
        raise
    except BaseException as e:
        test_error = e
        result = None
    use = item.stash.get(_KEY, None)
    if use is not None and use.replaying:
        try:
            problem = _replay_problem(use, failed=test_error is not None)
        except Exception:
            if test_error is None:
                raise
            problem = None  # the test's own error says more than a comparison that could not be made
        if problem:
            if test_error is not None:
                problem += (
                    f"\n\nThe test itself failed too (the divergence may be why): {_one_line(test_error)}"
                )
            pytest.fail(problem, pytrace=False)
    if test_error is not None:
        raise test_error
    return result


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:500]}" if text else type(error).__name__


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if call.when == "call":
        item._teamtape_call_report = report  # type: ignore[attr-defined]
    return report


def _replay_problem(use: TapeUse, *, failed: bool = False) -> str | None:
    """Why the replay does not match the tape (None: it does). ``failed``: the test raised an error
    of its own, which is reported instead when the test ran no team at all."""
    from teamtape.replay import Tape
    from teamtape.replay._compare import compare_run_lists

    if not use.recording.run_ids:
        if failed:
            return None
        return (
            f"teamtape: the test ran no AutoGen team, but its tape {use.path} holds "
            f"{len(use.session.tape.top_level)} run(s). Run the team in the test, or drop its teamtape marker."
        )
    stats = use.session.stats
    if stats.mismatches:
        first = stats.mismatches[0]
        more = (
            f"\n({len(stats.mismatches) - 1} more unmatched request(s))" if len(stats.mismatches) > 1 else ""
        )
        return f"teamtape: the test's team asked something its tape {use.path} does not hold.\n{first}{more}"
    replayed = Tape.from_runs(use.store, use.recording.run_ids)
    comparisons = compare_run_lists(use.session.tape.top_level, replayed.top_level)
    diverged = [c for c in comparisons if not c.diff.identical]
    if not diverged:
        return None
    parts = [f"teamtape: the replay diverged from the tape {use.path}:"]
    for c in diverged:
        where = f"from message {c.diff.first_divergence}" if c.diff.first_divergence else "in how it ended"
        replay = c.replay or "(none: the test did not run it)"
        parts.append(f"recorded run {c.original} -> replay {replay}: diverges {where}\n{c.diff.diff}")
    parts.append(PYTEST_RERECORD_HINT)
    return "\n".join(parts)
