"""Tape files: export, import, round trips, redaction, readable re-recordings, bad files, unsafe configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import teamtape
from teamtape.cli import main
from teamtape.replay import TAPE_FORMAT_VERSION, ReplayError, export_tape, import_tape, read_tape, replay_run
from teamtape.store import SCHEMA_VERSION, ImportFileError, SchemaVersionError
from tests.support import handbook_teams as H


async def _exported(pattern: H.Pattern, tmp_path: Path, name: str = "store") -> tuple[Path, list[str]]:
    run_ids, _, _ = await H.record_pattern(pattern, tmp_path / name)
    path = tmp_path / f"{name}.tape.json"
    export_tape(teamtape.open_store(tmp_path / name), run_ids[0], path)
    return path, run_ids


async def test_a_tape_holds_the_session_its_nested_runs_and_their_blobs(tmp_path: Path) -> None:
    path, run_ids = await _exported(H.NESTING, tmp_path)
    document = json.loads(path.read_text())
    assert document["teamtape_tape"] == TAPE_FORMAT_VERSION and document["schema_version"] == SCHEMA_VERSION
    assert {r["run_id"] for r in document["runs"]} == set(
        run_ids
    )  # the boss, the translator, the review team
    referenced = {
        m["$blob"]
        for r in document["runs"]
        for e in r["events"]
        if e["kind"] == "llm_call"
        for m in e["payload"]["request"]["messages"]
    }
    assert referenced <= set(document["blobs"])
    assert not any(e["kind"] == "blob" for r in document["runs"] for e in r["events"])

    again = tmp_path / "again.tape.json"
    export_tape(teamtape.open_store(tmp_path / "store"), run_ids[-1], again)  # a nested run names its session
    assert again.read_bytes() != b"" and read_tape(again).runs == read_tape(path).runs


async def test_import_round_trip_then_replay_in_another_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, run_ids = await _exported(H.SWARM, tmp_path)
    other = tmp_path / "other"
    assert main(["--store", str(other), "import", str(path)]) == 0
    assert " new events of 2 runs from " in capsys.readouterr().out
    store = teamtape.open_store(other)
    events = store.query("SELECT count(*) AS n FROM events")[0]["n"]
    assert main(["--store", str(other), "import", str(path)]) == 0  # a second import adds nothing
    assert "nothing new: the 2 runs of" in capsys.readouterr().out
    assert store.query("SELECT count(*) AS n FROM events")[0]["n"] == events
    assert import_tape(store, path).already == run_ids
    original = teamtape.open_store(tmp_path / "store").query(
        "SELECT run_id, status, messages, llm_calls FROM runs ORDER BY run_id"
    )
    assert store.query("SELECT run_id, status, messages, llm_calls FROM runs ORDER BY run_id") == original

    report = await replay_run(store, run_ids[0])
    assert report.identical, report.render()


async def test_a_tape_with_an_answer_cut_out_is_refused(tmp_path: Path) -> None:
    """Served as an empty answer, it would fail later as a change of the team; it is a damaged tape."""
    from teamtape.replay import ReplaySession

    path, _ = await _exported(H.SINGLE, tmp_path)
    tape = json.loads(path.read_text())
    call = next(e for r in tape["runs"] for e in r["events"] if e["kind"] == "llm_call")
    del call["payload"]["response"]
    path.write_text(json.dumps(tape))
    with pytest.raises(ReplayError, match="has neither an answer nor an error, which no recording leaves"):
        ReplaySession(read_tape(path))


async def test_importing_a_tape_again_adds_what_is_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tape exported while its run went on, then again once it ended: the second import adds the end."""
    path, run_ids = await _exported(H.SINGLE, tmp_path)
    whole = json.loads(path.read_text())
    early = tmp_path / "early.tape.json"
    cut = json.loads(path.read_text())
    cut["runs"][0]["events"] = [e for e in cut["runs"][0]["events"] if e["kind"] != "run_ended"]
    early.write_text(json.dumps(cut))
    other = str(tmp_path / "other")
    assert main(["--store", other, "import", str(early)]) == 0
    capsys.readouterr()
    assert main(["--store", other, "import", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "imported 1 new event of 1 run from" in out and "1 of them were there before" in out
    (run,) = teamtape.open_store(other).query("SELECT status FROM runs WHERE run_id = ?", [run_ids[0]])
    assert run["status"] == whole["runs"][0]["events"][-1]["payload"]["status"] == "ok"


async def test_secrets_never_reach_a_tape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_ids, _, _ = await H.record_pattern(H.SINGLE, tmp_path / "store")
    store = teamtape.open_store(tmp_path / "store")
    # A secret the store does not know yet (its variable was set after recording) is scrubbed on export.
    secret = "Eiffel Tower is 330"
    monkeypatch.setenv("ACME_API_KEY", secret)
    path = tmp_path / "single.tape.json"
    export_tape(store, run_ids[0], path)
    text = path.read_text()
    assert H.API_KEY not in text and secret not in text
    assert '"api_key": "[REDACTED]"' in text


async def test_a_re_recorded_tape_differs_line_by_line_only_in_ids_and_times(tmp_path: Path) -> None:
    """What a code review of a re-recorded tape shows: the same lines, volatile values changed."""
    first, _ = await _exported(H.SINGLE, tmp_path, "first")
    second, _ = await _exported(H.SINGLE, tmp_path, "second")
    a, b = first.read_text().splitlines(), second.read_text().splitlines()
    assert len(a) == len(b)
    keys = {
        x.split(":")[0].strip(' "')
        for x, y in zip(a, b)
        if x != y and not x.strip(" ,").replace(".", "").isdigit()
    }
    assert keys <= {
        "event_id",
        "ts",
        "root_run_id",
        "run_id",
        "session_id",
        "journal",
        "base_url",
        "created_at",
        "id",
        "call_id",
        "started_ts",
        "duration_ms",
        "first_ts",
        "pid",
        "ttft_ms",
        "turn_id",
    }, keys
    assert any("330 m tall" in line for line in a)


def test_bad_tape_files_are_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = teamtape.open_store(tmp_path / "store", create=True)
    not_json = tmp_path / "a.tape.json"
    not_json.write_text("{not json")
    with pytest.raises(ImportFileError, match="not a teamtape tape: not valid JSON"):
        import_tape(store, not_json)
    no_header = tmp_path / "b.tape.json"
    no_header.write_text('{"runs": []}')
    with pytest.raises(ImportFileError, match="has no `teamtape_tape` header"):
        read_tape(no_header)
    newer = tmp_path / "c.tape.json"
    newer.write_text(json.dumps({"teamtape_tape": TAPE_FORMAT_VERSION + 1, "schema_version": 1, "runs": []}))
    with pytest.raises(SchemaVersionError, match=r"newer teamtape .* upgrade teamtape"):
        read_tape(newer)
    newer.write_text(
        json.dumps({"teamtape_tape": TAPE_FORMAT_VERSION + 1, "written_by": "9.1.0", "runs": []})
    )
    with pytest.raises(
        SchemaVersionError, match=r"teamtape 9.1.0 \(or newer\) wrote it: pip install 'teamtape>=9.1.0'"
    ):
        read_tape(newer)
    broken = tmp_path / "d.tape.json"
    broken.write_text(json.dumps({"teamtape_tape": 1, "runs": [{"events": []}]}))
    with pytest.raises(ImportFileError, match="a run or event is malformed"):
        read_tape(broken)
    assert main(["--store", str(tmp_path / "store"), "import", str(not_json)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["--store", str(tmp_path / "store"), "import", str(tmp_path / "nope.tape.json")]) == 2
    assert "Give a tape file written by `teamtape export tape`" in capsys.readouterr().err
    assert main(["--store", str(tmp_path / "store"), "export", "tape", "nope", str(tmp_path / "x.json")]) == 2
    assert "No run 'nope'" in capsys.readouterr().err


def _edit_config(path: Path, edit: Any) -> None:
    document = json.loads(path.read_text())
    for run in document["runs"]:
        for event in run["events"]:
            if event["kind"] == "run_started" and event["payload"].get("config"):
                edit(event["payload"]["config"])
    path.write_text(json.dumps(document))


def _components(config: Any) -> list[dict[str, Any]]:
    found, stack = [], [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "provider" in value:
                found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


async def test_a_recorded_config_never_imports_or_runs_foreign_code(tmp_path: Path) -> None:
    path, run_ids = await _exported(H.SWARM, tmp_path)
    marker = tmp_path / "pwned"

    def plant_code(config: Any) -> None:
        for component in _components(config):
            if component["provider"] == "autogen_core.tools.FunctionTool":
                component["config"]["source_code"] = (
                    f"open({str(marker)!r}, 'w').write('x')\n" + component["config"]["source_code"]
                )

    _edit_config(path, plant_code)
    store = teamtape.open_store(tmp_path / "planted", create=True)
    import_tape(store, path)
    report = await replay_run(store, run_ids[0])
    assert report.identical and not marker.exists()

    def foreign_provider(config: Any) -> None:
        config["config"]["participants"][0]["provider"] = "evil_package.agents.Agent"

    _edit_config(path, foreign_provider)
    store = teamtape.open_store(tmp_path / "foreign", create=True)
    import_tape(store, path)
    with pytest.raises(
        ReplayError, match=r"provider 'evil_package\.agents\.Agent', outside autogen and teamtape"
    ) as caught:
        await replay_run(store, run_ids[0])
    assert "--factory module:callable" in str(caught.value)
