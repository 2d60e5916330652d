"""The store: journals folded into DuckDB projections, costs, crash marking, bad lines, versions."""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path

import duckdb
import pytest

from teamtape.store import (
    Event,
    IdFactory,
    QueryError,
    RunNotFoundError,
    SchemaVersionError,
    StoreNotFoundError,
    new_run_id,
    open_store,
)

IDS = IdFactory()


def ev(run_id: str, seq: int, kind: str, agent: str | None = None, **payload: object) -> Event:
    return Event(IDS.event_id(), run_id, seq, time.time(), kind, agent, dict(payload))


def write_run(
    writer,
    *,
    cost_model: str = "gpt-4o-mini",
    provider: str = "openai",
    parent: str | None = None,
    end: bool = True,
) -> str:
    run = new_run_id()
    writer.append(
        ev(
            run,
            0,
            "run_started",
            team_type="RoundRobinGroupChat",
            task="t",
            participants=["a"],
            parent_run_id=parent,
            journal=writer.name,
            session_id="s",
        )
    )
    writer.append(ev(run, 1, "message", "user", type="TextMessage", source="user", text="hello"))
    writer.append(
        ev(
            run,
            2,
            "llm_call",
            "a",
            call_id="c",
            model=cost_model,
            provider=provider,
            usage={"input_tokens": 1_000_000, "output_tokens": 0, "cache_read_tokens": 0},
        )
    )
    if end:
        writer.append(ev(run, 3, "run_ended", status="ok", stop_reason="done", duration_ms=5.0))
    return run


def test_missing_store_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError, match="teamtape demo"):
        open_store(tmp_path / "nope")


def test_projections_follow_the_events(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from teamtape.cli import main

    store = open_store(store_dir, create=True)
    w = store.writer()
    parent = write_run(w)
    child = write_run(w, parent=parent, cost_model="gpt-4o")
    rows = {r["run_id"]: r for r in store.query("SELECT * FROM runs")}
    # gpt-4o-mini input is $0.15 / Mtok, gpt-4o is $2.50 / Mtok (genai-prices).
    assert rows[child]["cost_usd"] == pytest.approx(2.5)
    assert rows[parent]["own_cost_usd"] == pytest.approx(0.15)
    assert rows[parent]["cost_usd"] == pytest.approx(2.65), "a parent's cost includes its children"
    assert rows[parent]["messages"] == 1 and rows[parent]["llm_calls"] == 1
    assert rows[parent]["status"] == "ok" and rows[parent]["stop_reason"] == "done"
    # `show`'s header: calls and tokens are the run's own, its cost is not; that is said, not left to guess.
    assert main(["show", parent, "--store", str(store_dir)]) == 0
    header = " ".join(capsys.readouterr().out.split())
    assert "· 1 LLM call ·" in header and "tokens · $2.6500 (incl. 1 nested run)" in header


def test_a_nested_runs_unpriced_calls_count_in_its_parent(store_dir: Path) -> None:
    """A parent's cost includes its children's, so its "+?" (calls with no known price) must too."""
    store = open_store(store_dir, create=True)
    w = store.writer()
    parent = write_run(w)
    child = write_run(w, parent=parent, cost_model="acme-llm-7")
    rows = {r["run_id"]: r for r in store.query("SELECT * FROM runs")}
    assert rows[parent]["cost_usd"] == pytest.approx(0.15) and rows[parent]["llm_calls"] == 1
    assert rows[parent]["unpriced_calls"] == 1 and rows[child]["unpriced_calls"] == 1


def test_a_runs_failed_calls_leave_out_what_was_cancelled_with_it(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    cancelled = {"type": "CancelledError", "message": ""}

    def tool(call_id: str, error: dict[str, str] | None) -> tuple[str, dict[str, object]]:
        payload: dict[str, object] = {"call_id": call_id, "tool": "lookup", "is_error": True, "result": "x"}
        return ("tool_call", {**payload, "error": error} if error else payload)

    events = [
        ("run_started", {"team_type": "RoundRobinGroupChat", "task": "go", "journal": w.name}),
        tool("t1", {"type": "ValueError", "message": "unknown quarter"}),
        tool("t2", None),  # an error result with no exception behind it
        (
            "llm_call",
            {"call_id": "c1", "model": "gpt-4o-mini", "error": {"type": "APITimeoutError", "message": ""}},
        ),
        tool("t3", cancelled),
        tool("t4", cancelled),
        ("llm_call", {"call_id": "c2", "model": "gpt-4o-mini", "error": cancelled}),
        ("run_ended", {"status": "cancelled", "error": cancelled}),
    ]
    for seq, (kind, payload) in enumerate(events):
        w.append(Event(f"f-{seq}", "failing00000001", seq, 1732370400.0 + seq, kind, "a", payload))
    (run,) = store.query("SELECT status, failed_calls FROM runs")
    # Two tools and a model call failed (a timeout without a message failed too); what the cancel stopped did not.
    assert run == {"status": "cancelled", "failed_calls": 3}


def test_rebuild_reproduces_every_projection(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    parent = write_run(w)
    write_run(w, parent=parent)
    tables = ["runs", "messages", "llm_calls", "handoffs", "tool_calls", "memory_queries"]
    before = {
        t: store.query(f"SELECT * EXCLUDE (ts) FROM {t} ORDER BY ALL")
        if t != "runs"
        else store.query("SELECT * FROM runs ORDER BY run_id")
        for t in tables
    }
    assert store.rebuild_projections() == 8
    after = {
        t: store.query(f"SELECT * EXCLUDE (ts) FROM {t} ORDER BY ALL")
        if t != "runs"
        else store.query("SELECT * FROM runs ORDER BY run_id")
        for t in tables
    }
    assert after == before


def test_unknown_model_has_unknown_cost_and_user_prices_apply(store_dir: Path) -> None:
    """Prices added to prices.toml apply to the calls already recorded, from the next command on; a
    price for provider "openai" covers an OpenAI-compatible endpoint (a proxy, vLLM) too."""
    store = open_store(store_dir, create=True)
    run = write_run(store.writer(), cost_model="acme-llm-7", provider="openai-compatible")
    row = store.query("SELECT cost_usd, unpriced_calls FROM runs WHERE run_id = ?", [run])[0]
    assert row == {"cost_usd": None, "unpriced_calls": 1}
    prices = '[[model]]\nmatch = "acme-*"\nprovider = "openai"\ninput_mtok = 4.0\noutput_mtok = 8.0\n'
    store.layout.prices.write_text(prices)
    row = open_store(store_dir).query("SELECT cost_usd, unpriced_calls FROM runs WHERE run_id = ?", [run])[0]
    assert row == {"cost_usd": pytest.approx(4.0), "unpriced_calls": 0}
    store.layout.prices.write_text(prices.replace("4.0", "2.0"))  # edited again
    row = open_store(store_dir).query("SELECT cost_usd FROM runs WHERE run_id = ?", [run])[0]
    assert row == {"cost_usd": pytest.approx(2.0)}
    store.layout.prices.write_text(prices.replace('"openai"', '"anthropic"'))  # another provider's price
    row = open_store(store_dir).query("SELECT cost_usd FROM runs WHERE run_id = ?", [run])[0]
    assert row == {"cost_usd": None}


def test_a_long_lived_reader_and_sql_use_the_prices_as_they_are_now(store_dir: Path) -> None:
    """The TUI keeps one Store open for hours: a prices.toml edited meanwhile (and applied by another
    command) must price what it folds later too; `teamtape sql` applies an edit like any command."""
    prices = '[[model]]\nmatch = "acme-*"\ninput_mtok = 4.0\noutput_mtok = 8.0\n'
    store = open_store(store_dir, create=True)
    store.layout.prices.write_text(prices)
    first = write_run(store.writer(), cost_model="acme-llm-7")
    long_lived = open_store(store_dir)
    assert long_lived.query("SELECT cost_usd FROM runs WHERE run_id = ?", [first])[0]["cost_usd"] == 4.0
    store.layout.prices.write_text(prices.replace("4.0", "2.0"))
    _, rows = open_store(store_dir).user_sql("SELECT cost_usd FROM runs")  # the one run so far
    assert rows == [(2.0,)], "sql re-priced what was recorded"
    second = write_run(store.writer(), cost_model="acme-llm-7")
    costs = long_lived.query("SELECT run_id, cost_usd FROM runs ORDER BY started_at")
    assert {r["run_id"]: r["cost_usd"] for r in costs} == {first: 2.0, second: 2.0}


def test_runs_of_a_dead_writer_are_marked_crashed(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    run = write_run(w, end=False)
    assert store.query("SELECT status FROM runs WHERE run_id = ?", [run])[0]["status"] == "running"
    w.close()  # the writer's lock is gone, as when its process dies
    report = store.sync()
    assert report.crashed_runs == [run]
    row = store.query("SELECT status, messages, stop_reason FROM runs WHERE run_id = ?", [run])[0]
    # The reason is where `teamtape runs` and the TUI's runs table look, not only inside the run.
    reason = "the recording process ended without finishing this run"
    assert row == {"status": "crashed", "messages": 1, "stop_reason": reason}
    assert not list(store.layout.journal_dir.iterdir()), "a dead, folded journal is removed"


def test_bad_lines_are_quarantined_and_good_ones_kept(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    run = write_run(w)
    with open(w.path, "a", encoding="utf-8") as f:
        f.write("{not json\n")
        f.write(
            json.dumps({"event_id": "x", "run_id": run, "seq": "NaN?", "ts": 1.0, "kind": "message"}) + "\n"
        )
        f.write('{"event_id": "y", "run_id": "r", "seq": 1, "ts": 1.0, "kind": "message", "payload": [1]}\n')
    w.append(ev(run, 9, "message", "a", type="TextMessage", source="a", text="after the garbage"))
    with pytest.warns(UserWarning, match="unreadable line"):
        store.sync()
    texts = [
        r["content"] for r in store.query("SELECT content FROM messages WHERE run_id = ? ORDER BY seq", [run])
    ]
    assert texts == ["hello", "after the garbage"]
    quarantined = (store.layout.quarantine_dir / f"{w.name}.bad").read_text().splitlines()
    assert len(quarantined) == 3 and quarantined[0] == "{not json"


def test_a_store_from_a_newer_teamtape_is_refused(store_dir: Path) -> None:
    open_store(store_dir, create=True)
    con = duckdb.connect(str(store_dir / "teamtape.duckdb"))
    con.execute("INSERT INTO schema_meta VALUES (999, now())")
    con.close()
    with pytest.raises(SchemaVersionError, match="version 999"):
        open_store(store_dir).query("SELECT 1")


def test_a_corrupt_database_file_gets_a_clear_error(store_dir: Path) -> None:
    from teamtape.store import StoreError

    open_store(store_dir, create=True)
    (store_dir / "teamtape.duckdb").write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(StoreError, match="not a readable teamtape database"):
        open_store(store_dir).query("SELECT 1")


def test_run_references(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    first, second = write_run(w), write_run(w)
    assert store.resolve_run("last") == second
    assert store.resolve_run(first[:10]) == first
    typo = first[:3] + ("0" if first[3] != "0" else "1") + first[4:8]
    with pytest.raises(RunNotFoundError, match=f"Close matches: .*{first}"):
        store.resolve_run(typo)
    with pytest.raises(RunNotFoundError, match=re.escape("No run 'zzzz' in this store. `teamtape runs`")):
        store.resolve_run("zzzz")


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM runs",
        "DROP TABLE events",
        "CREATE TABLE t (a INT)",
        "COPY runs TO '/tmp/teamtape-leak.csv'",
        "ATTACH '/tmp/teamtape-other.db' AS o",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_text('/etc/passwd')",
        "SET enable_external_access = true",
    ],
)
def test_user_sql_is_read_only(store_dir: Path, sql: str) -> None:
    store = open_store(store_dir, create=True)
    write_run(store.writer())
    with pytest.raises(QueryError):
        store.user_sql(sql)
    assert store.query("SELECT count(*) AS n FROM runs")[0]["n"] == 1
    assert not Path("/tmp/teamtape-leak.csv").exists()


def test_store_files_are_private(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    write_run(w, end=False)
    assert (store_dir.stat().st_mode & 0o777) == 0o700
    assert (w.path.stat().st_mode & 0o777) == 0o600
    store.sync()
    assert (store.layout.db.stat().st_mode & 0o077) == 0, "the database is readable by its owner only"


def test_folding_warns_once_per_problem(store_dir: Path) -> None:
    store = open_store(store_dir, create=True)
    w = store.writer()
    with open(w.path, "a") as f:
        f.write("garbage\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.sync()
        store.sync()
    assert len([c for c in caught if "unreadable" in str(c.message)]) == 1


def test_a_stream_without_usage_is_not_blamed_on_a_missing_price(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its cost is unknown because no tokens were reported: adding a price would not help, so the
    cost report says what would (and keeps the unknown price of an unpriced model apart)."""
    from teamtape.cli import main

    store = open_store(store_dir, create=True)
    w = store.writer()
    run = write_run(w, cost_model="acme-llm-7")
    unknown = {"input_tokens": None, "output_tokens": None, "cache_read_tokens": None, "reported": False}
    w.append(
        ev(
            run,
            4,
            "llm_call",
            "a",
            call_id="s",
            model="gpt-4o-mini",
            provider="openai",
            usage=unknown,
            streamed=True,
        )
    )
    rows = store.query("SELECT model, cost_usd, price_source FROM llm_calls ORDER BY model")
    assert rows == [
        {"model": "acme-llm-7", "cost_usd": None, "price_source": None},
        {"model": "gpt-4o-mini", "cost_usd": None, "price_source": "no-usage"},
    ]
    assert main(["cost", "--store", str(store_dir)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 call(s) have no known price (models: acme-llm-7)" in out
    assert (
        "1 streamed call reported no token usage" in out and 'stream_options={"include_usage": True}' in out
    )
    assert main(["show", run, "--store", str(store_dir)]) == 0
    shown = capsys.readouterr().out
    assert "(streamed)" in shown and "first chunk ;" not in shown  # no time to first chunk was recorded
    assert "· 1,000,000/0+? tokens ·" in " ".join(shown.split())  # a sum that misses a call says so


def test_show_says_how_long_a_running_run_has_been_going(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from teamtape.cli import main

    store = open_store(store_dir, create=True)
    run = write_run(store.writer(), end=False)
    assert main(["show", run, "--store", str(store_dir)]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "started " in line)
    assert re.search(r"started \S+ \S+ \S+ · running for \d+ ms · 1 message", header), header


def test_a_streaming_request_resolver_keeps_a_few_lists_per_agent() -> None:
    """A live OTLP sink resolves request deltas for ever: calls that build on nothing (a selector's
    prompt) must not pile up, and a chain of deltas still resolves whole."""
    from teamtape.store.requests import RequestResolver

    resolver = RequestResolver(streaming=True)
    for i in range(1000):
        resolver.resolve(f"run1-c{i}", {"messages": [{"$blob": f"h{i}"}]}, ("run1", "selector"))
    assert len(resolver.full) == RequestResolver.RECENT_PER_KEY
    resolver.resolve("run1-a1", {"messages": ["system", "task"]}, ("run1", "writer"))
    whole = resolver.resolve(
        "run1-a2", {"messages": ["reply"], "base": {"call_id": "run1-a1", "keep": 2}}, ("run1", "writer")
    )
    assert whole == ["system", "task", "reply"]
    resolver.forget_run("run1")
    assert resolver.full == {}
