"""Security: planted secrets reach no file and no wire; store files are private; ``teamtape sql`` cannot
write or reach files; SQL is never built from user input; a recording never makes teamtape import code.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from fault_helpers import ROOT, journal_only_copy, note, projection_summary, run_cli

import teamtape
from teamtape.cli import main
from teamtape.demo.server import Reply, ScriptedOpenAIServer, ToolCall
from teamtape.replay import ReplayError, import_tape, replay_run
from teamtape.store import QueryError, Store, open_store

API_KEY = (
    "tt-planted-config-key-0a1b2c3d4e5f"  # no built-in pattern knows it: only the config says it is a key
)
BEARER = "hdr-planted-bearer-9f8e7d6c5b4a"
AZURE_KEY = "azure-planted-api-key-77aa88bb"
ENV_TOKEN = "env-planted-token-1234567890"
CUSTOM = "ACME-424242"
SECRETS = (API_KEY, BEARER, AZURE_KEY, ENV_TOKEN, CUSTOM)


def secret_hits(blob: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in blob]


def every_byte(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def lookup_account(account: str) -> str:
    """Look up an account."""
    return f"account {account}: token {ENV_TOKEN}, reference {CUSTOM}"


async def test_planted_secrets_reach_no_store_lake_tape_or_otlp_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "otlp"))
    from otlp_receivers import HttpReceiver

    monkeypatch.setenv("BILLING_SERVICE_TOKEN", ENV_TOKEN)
    monkeypatch.setenv(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"
    )  # content on the wire too
    replies = [
        Reply(tool_calls=[ToolCall("lookup_account", {"account": f"acct {CUSTOM} key {API_KEY}"})]),
        Reply(content=f"The token is {ENV_TOKEN}, the key {API_KEY}, the header {BEARER}, ref {CUSTOM}."),
    ]
    store = tmp_path / "store"
    with ScriptedOpenAIServer(replies) as server, HttpReceiver() as live, HttpReceiver() as later:
        client = server.client(
            "gpt-4o-mini",
            api_key=API_KEY,
            default_headers={"Authorization": f"Bearer {BEARER}", "api-key": AZURE_KEY},
        )
        agent = AssistantAgent("clerk", model_client=client, tools=[lookup_account])
        team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(3))
        async with teamtape.record(store=store, redact=[r"ACME-\d{6}"], otlp_endpoint=live.endpoint):
            result = await team.run(task=f"Use key {API_KEY} and bearer {BEARER} for ref {CUSTOM}.")
        assert ENV_TOKEN in str(result.messages[-1].content), "the team itself saw everything unchanged"
        journals = every_byte(store)  # before any fold

        run_id = open_store(store).query("SELECT run_id FROM runs")[0]["run_id"]
        assert run_cli(capsys, "--store", str(store), "export", "parquet", str(tmp_path / "lake"))[0] == 0
        assert (
            run_cli(capsys, "--store", str(store), "export", "tape", run_id, str(tmp_path / "t.tape.json"))[0]
            == 0
        )
        assert run_cli(capsys, "--store", str(store), "export", "otlp", "--endpoint", later.endpoint)[0] == 0
        shown = "".join(
            run_cli(capsys, "--store", str(store), *argv)[1]
            for argv in (
                ["show", run_id, "--json"],
                ["sql", "SELECT * FROM events", "--json"],
                ["runs", "--json"],
            )
        )
        places = {
            "journals": journals,
            "store after fold": every_byte(store),
            "lake": every_byte(tmp_path / "lake"),
            "tape": (tmp_path / "t.tape.json").read_bytes(),
            "live OTLP wire": live.got.all_bytes(),
            "exported OTLP wire": later.got.all_bytes(),
            "CLI output": shown.encode(),
        }
    assert places["live OTLP wire"] and places["exported OTLP wire"] and places["lake"]
    assert b"lookup_account" in places["live OTLP wire"], "content was captured, so secrets had a way out"
    leaks = {where: secret_hits(data) for where, data in places.items() if secret_hits(data)}
    assert leaks == {}
    assert b"[REDACTED]" in places["tape"] and b"[REDACTED]" in places["live OTLP wire"]
    note("security: planted secrets x places searched", f"{len(SECRETS)} x {len(places)}, 0 hits")


def test_every_store_file_is_owner_only(
    demo_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After recording, folding, quarantining, importing a tape and a lake: 0600 files, 0700 folders."""
    old = os.umask(0o022)
    try:
        target = tmp_path / "store"
        journal, _ = journal_only_copy(demo_store, target)
        with open(journal, "ab") as f:
            f.write(b"garbage to quarantine\n")
        live = open_store(target).writer()  # a recording process still running
        run_cli(capsys, "--store", str(target), "runs")
        run_cli(
            capsys, "--store", str(demo_store.root), "export", "tape", "last", str(tmp_path / "t.tape.json")
        )
        run_cli(capsys, "--store", str(demo_store.root), "export", "parquet", str(tmp_path / "lake"))
        run_cli(capsys, "--store", str(target), "import", str(tmp_path / "t.tape.json"))
        run_cli(capsys, "--store", str(target), "import", str(tmp_path / "lake"))
        run_cli(capsys, "--store", str(target), "sql", "SELECT 1")
        live.close()
    finally:
        os.umask(old)
    assert (target / "quarantine").is_dir(), "the session did produce every kind of store file"
    loose = [
        f"{p.relative_to(target)} {stat.filemode(p.stat().st_mode)}"
        for p in [target, *target.rglob("*")]
        if p.stat().st_mode & 0o077 or (p.is_dir() and p.stat().st_mode & 0o700 != 0o700)
    ]
    assert loose == []


READ_ONLY_VIOLATIONS = [
    "SELECT 1; DELETE FROM runs",
    "INSERT INTO runs (run_id) VALUES ('x')",
    "UPDATE runs SET status = 'ok'",
    "ALTER TABLE runs ADD COLUMN x INT",
    "CREATE MACRO m(a) AS a",
    "CREATE VIEW v AS SELECT 1",
    "CHECKPOINT",  # accepted by a read-only database, and a no-op there
    "VACUUM",
    "EXPORT DATABASE '{tmp}/exported'",
    "COPY (SELECT * FROM runs) TO '{tmp}/copied.csv'",
    "COPY runs FROM '{tmp}/x.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{tmp}/x.parquet')",
    "SELECT * FROM read_json_auto('/etc/hostname')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "FORCE INSTALL httpfs",
    "INSTALL json FROM 'http://127.0.0.1:9/'",
    "LOAD '{tmp}/evil.duckdb_extension'",
    "PRAGMA enable_profiling = 'json'; PRAGMA profile_output = '{tmp}/profile.json'",
    "SELECT * FROM duckdb_secrets()",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
]


@pytest.mark.parametrize("sql", READ_ONLY_VIOLATIONS)
def test_teamtape_sql_cannot_write_or_reach_files(demo_store: Store, tmp_path: Path, sql: str) -> None:
    before = projection_summary(demo_store)
    files_before = sorted(p.name for p in tmp_path.rglob("*"))
    if sql in ("CHECKPOINT", "VACUUM"):
        demo_store.user_sql(sql)
    else:
        with pytest.raises(QueryError):
            demo_store.user_sql(sql.format(tmp=tmp_path))
    assert projection_summary(demo_store) == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == files_before, "no file was written"
    note("security: read-only SQL statements refused", 1)


def test_teamtape_sql_sees_what_was_just_recorded(demo_store: Store, tmp_path: Path) -> None:
    """Its first query on a store holding only journals answers from them (not from an empty database)."""
    _, events = journal_only_copy(demo_store, tmp_path / "fresh")
    _, rows = open_store(tmp_path / "fresh").user_sql(
        "SELECT count(*) FROM events WHERE kind <> 'run_crashed'"
    )
    assert rows == [(len(events),)]


# -- SQL built from user input ------------------------------------------------------------------------------
REVIEWED_INTERPOLATIONS = {
    # Every value interpolated into SQL text in teamtape's code, reviewed: constants, placeholders built
    # from counts, quoted literals for COPY paths, or clauses assembled from constant fragments with `?`.
    "','.join('?' * len(run_ids))",
    "'LIMIT ?' if limit else ''",
    "RUN_COLUMNS",
    "RUN_TREE",
    "SCHEMA_VERSION",
    "SERVED_CALL",
    "_RUN_COLUMNS",
    "_VALID_ROW",
    "_sql_str(apart)",
    "_sql_str(empty)",
    "_sql_str(target)",
    "clause",
    "export_id",
    "group",
    "keys",
    "large_index",
    "new_rows",
    "options",
    "payload_sql",
    "placeholders",
    "select",
    "spilled_rows",
    "t",
    "top",
    "where",
}
SQL_METHODS = {"execute", "executemany", "query", "query_arrow", "arrow_query", "sql", "user_sql", "_rows"}


def interpolated_sql() -> dict[str, list[str]]:
    """Expressions formatted into the SQL argument of a query call, with where they are."""
    found: dict[str, list[str]] = {}
    for folder in ("teamtape", "store", "replay", "tui", "recorder"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                if name not in SQL_METHODS:
                    continue
                for arg in node.args[:2]:
                    for sub in ast.walk(arg):
                        if isinstance(sub, ast.FormattedValue):
                            found.setdefault(ast.unparse(sub.value), []).append(
                                f"{path.relative_to(ROOT)}:{node.lineno}"
                            )
    return found


def test_sql_is_never_formatted_from_unreviewed_values() -> None:
    unreviewed = {k: v for k, v in interpolated_sql().items() if k not in REVIEWED_INTERPOLATIONS}
    assert not unreviewed, (
        f"review these values formatted into SQL (user input must be a ? parameter): {unreviewed}"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "{ref}"],
        ["replay", "{ref}"],
        ["diff", "{ref}", "last"],
        ["export", "tape", "{ref}", "{tmp}/t.json"],
        ["export", "otlp", "{ref}", "--endpoint", "http://127.0.0.1:9"],
        ["import", "{lake}", "--run", "{ref}"],
    ],
)
def test_hostile_run_references_are_parameters(
    demo_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    from teamtape.store.lake import export_lake

    export_lake(demo_store, tmp_path / "lake")
    before = projection_summary(demo_store)
    for ref in ("' OR '1'='1", "x'; DROP TABLE runs; --", '") OR 1=1 --'):
        filled = [a.format(ref=ref, tmp=tmp_path, lake=tmp_path / "lake") for a in argv]
        code, _, err = run_cli(capsys, "--store", str(demo_store.root), *filled)
        assert code == 2 and ("No run" in err or "matches no" in err), err
    assert projection_summary(demo_store) == before
    note("bad inputs tried: hostile run references", 3)


def test_a_lake_path_with_quotes_is_a_quoted_literal(
    demo_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "l'ake'); DROP TABLE events; --"
    assert run_cli(capsys, "--store", str(demo_store.root), "export", "parquet", str(lake))[0] == 0
    assert run_cli(capsys, "--store", str(tmp_path / "copy"), "import", str(lake))[0] == 0
    assert projection_summary(open_store(tmp_path / "copy")) == projection_summary(demo_store)


# -- replay imports nothing a recording names ---------------------------------------------------------------------
MARKER_MODULE = """
import pathlib
pathlib.Path({marker!r}).write_text("imported")
from autogen_agentchat.agents import AssistantAgent as Agent
from autogen_agentchat.conditions import MaxMessageTermination as Condition
"""


@pytest.fixture
def planted_tape(
    demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, str]:
    """A tape of the demo's selector run, and an importable module that writes a marker file on import."""
    marker = tmp_path / "imported.marker"
    modules = tmp_path / "modules"
    modules.mkdir()
    for name in ("evil_marker", "autogen_core_evil", "teamtape_evil"):
        (modules / f"{name}.py").write_text(MARKER_MODULE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(modules))
    run_id = demo_store.query("SELECT run_id FROM runs WHERE name = 'selector_research'")[0]["run_id"]
    tape = tmp_path / "selector.tape.json"
    assert main(["--store", str(demo_store.root), "export", "tape", run_id, str(tape)]) == 0
    return tape, marker, run_id


def plant(tape: Path, where: str, provider: str) -> None:
    document = json.loads(tape.read_text())
    for run in document["runs"]:
        for event in run["events"]:
            config = event["payload"].get("config") if event["kind"] == "run_started" else None
            if not config:
                continue
            target: dict[str, Any] = {
                "team": config,
                "agent": config["config"]["participants"][0],
                "model": config["config"]["participants"][0]["config"]["model_client"],
                "termination": config["config"].get("termination_condition") or config,
            }[where]
            target["provider"] = provider
            if where == "model":  # also hide a foreign real client inside a replay client config
                target["config"]["real_client"] = {"provider": "evil_marker.Agent", "config": {}}
    tape.write_text(json.dumps(document))


@pytest.mark.parametrize("where", ["team", "agent", "model", "termination"])
@pytest.mark.parametrize(
    "provider",
    [
        "evil_marker.Agent",
        "autogen_core_evil.Agent",
        "teamtape_evil.Condition",
        "os.system",
        "builtins.eval",
        "autogen_ext..evil_marker.Agent",
    ],
)
async def test_a_recording_never_makes_replay_import_code(
    planted_tape: tuple[Path, Path, str], tmp_path: Path, where: str, provider: str
) -> None:
    tape, marker, run_id = planted_tape
    plant(tape, where, provider)
    store = open_store(tmp_path / f"planted-{where}", create=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import_tape(store, tape)
        for argv in (["show", run_id], ["export", "parquet", str(tmp_path / "lake")]):
            main(["--store", str(store.root), *argv])
        try:
            await replay_run(store, run_id)
            refused = ""
        except ReplayError as e:
            refused = str(e)
    assert not marker.exists(), f"teamtape imported {provider} named in a recording"
    if not provider.startswith(("autogen_agentchat.", "autogen_core.", "autogen_ext.", "teamtape.")):
        assert f"provider '{provider}', outside autogen and teamtape" in refused and "--factory" in refused
    elif where != "model":  # an allowed prefix but no such module: AutoGen's loader fails, said clearly
        assert "does not load" in refused and "--factory" in refused
    # (a model client named anything under an allowed prefix is replaced by the replay client unread)
    note("security: foreign providers planted in recordings, none imported", 1)


async def test_the_unplanted_tape_replays(planted_tape: tuple[Path, Path, str], tmp_path: Path) -> None:
    """The control: the same tape without a planted provider replays from its config."""
    tape, marker, run_id = planted_tape
    store = open_store(tmp_path / "clean", create=True)
    import_tape(store, tape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = await replay_run(store, run_id)
    assert report.identical, report.render()
    assert not marker.exists()
