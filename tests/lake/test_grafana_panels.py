"""Every panel's SQL, expanded as Grafana and the DuckDB plugin expand it, over a lake of recorded runs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from lake_support import UNPRICED_MODEL

from teamtape.cli import main
from teamtape.grafana import _build
from teamtape.grafana._macros import ALL, Selection, render_query
from teamtape.store import open_store

EXPECTED_COLUMNS = {
    "Total cost": ["cost_usd"],
    "LLM calls": ["llm_calls"],
    "Cached-token savings": ["saved_usd"],
    "Calls with unknown prices": ["unpriced_calls"],
    "Cost over time by model": ["time", "model", "cost_usd"],
    "Cost over time by agent": ["time", "agent", "cost_usd"],
    "Cost over time by team": ["time", "team", "cost_usd"],
    "Cost per run": ["time", "cost_usd"],
    "Most expensive runs": [
        "run_id",
        "team",
        "status",
        "started_at",
        "llm_calls",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "unpriced_calls",
        "show_command",
        "replay_command",
    ],
    "Cost by model": [
        "model",
        "llm_calls",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cost_usd",
        "saved_usd",
        "unpriced_calls",
    ],
    "Runs by status": ["status", "runs"],
    "Runs over time by status": ["time", "status", "runs"],
    "Failed, crashed and cancelled runs": [
        "started_at",
        "run_id",
        "team",
        "status",
        "error",
        "stop_reason",
        "show_command",
    ],
    "Stop reasons": ["stop_reason", "runs"],
    "Run durations by team": ["team", "runs", "p50_ms", "p95_ms", "max_ms", "messages"],
    "Handoffs": ["source", "target", "handoffs"],
    "Messages by agent": ["agent", "messages"],
    "LLM call latency p50 / p95": ["time", "p50_ms", "p95_ms"],
    "Time to first chunk p50 / p95 (streamed calls)": ["time", "ttft_p50_ms", "ttft_p95_ms"],
    "Tokens over time": ["time", "input_tokens", "output_tokens", "cache_read_tokens"],
    "Latency and tokens by model": [
        "model",
        "llm_calls",
        "p50_ms",
        "p95_ms",
        "ttft_p50_ms",
        "ttft_p95_ms",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "errors",
    ],
    "Tool calls over time by tool": ["time", "tool", "tool_calls"],
    "Calls, error rate and latency by tool": [
        "tool",
        "tool_kind",
        "tool_calls",
        "errors",
        "error_rate",
        "p50_ms",
        "p95_ms",
    ],
    "Latest tool errors": ["ts", "tool", "agent", "run_id", "result", "show_command"],
}
# "Calls with unknown prices" names both a stat and a table; the table is told apart by its SQL.
UNPRICED_TABLE = ["model", "provider", "llm_calls", "input_tokens", "output_tokens", "last_call"]

NOW = dt.datetime.now(dt.UTC)
WHOLE_RANGE = (NOW - dt.timedelta(days=3650), NOW + dt.timedelta(days=1))


@pytest.fixture(scope="module")
def lake_db(recorded_lake: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB set up exactly as the provisioned datasource sets itself up, on the test lake."""
    con = duckdb.connect()
    con.execute(_build.init_sql(str(recorded_lake)))
    return con


@pytest.fixture(scope="module")
def cost_json(recorded_store_dir: Path) -> dict:
    def run(by: str) -> dict:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["cost", "--store", str(recorded_store_dir), "--by", by, "--json"]) == 0
        return json.loads(out.getvalue())

    return {by: run(by) for by in ("model", "agent", "team")}


def dashboard_panels() -> list[tuple[dict, dict]]:
    out = []
    for path in sorted((_build.package_dir() / "dashboards").glob("*.json")):
        dash = json.loads(path.read_text())
        out += [(dash, panel) for panel in dash["panels"]]
    return out


def all_selected(con: duckdb.DuckDBPyConnection, dash: dict) -> dict[str, Selection]:
    out = {}
    for var in dash["templating"]["list"]:
        options = [r[0] for r in con.execute(var["query"]).fetchall()]
        out[var["name"]] = Selection(
            [ALL], options, multi=var["multi"], include_all=var["includeAll"], all_value=var.get("allValue")
        )
    return out


def run_panel(con, dash, panel, *, time_range=WHOLE_RANGE, **chosen: str) -> list[dict]:
    variables = all_selected(con, dash)
    for name, value in chosen.items():
        variables[name] = Selection([value], variables[name].options, all_value=variables[name].all_value)
    sql = render_query(
        panel["targets"][0]["rawSql"],
        time_from=time_range[0],
        time_to=time_range[1],
        variables=variables,
        max_data_points=panel.get("maxDataPoints", 500),
    )
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def panel(title: str, sql_part: str = "") -> tuple[dict, dict]:
    return next(
        (d, p) for d, p in dashboard_panels() if p["title"] == title and sql_part in p["targets"][0]["rawSql"]
    )


@pytest.mark.parametrize("dash_panel", dashboard_panels(), ids=lambda dp: f"{dp[0]['uid']}:{dp[1]['id']}")
def test_every_panel_runs_and_returns_its_columns(lake_db, dash_panel) -> None:
    dash, p = dash_panel
    cur = lake_db.execute(
        render_query(
            p["targets"][0]["rawSql"],
            time_from=WHOLE_RANGE[0],
            time_to=WHOLE_RANGE[1],
            variables=all_selected(lake_db, dash),
        )
    )
    columns = [d[0] for d in cur.description]
    expected = (
        UNPRICED_TABLE
        if p["type"] == "table" and p["title"] == "Calls with unknown prices"
        else EXPECTED_COLUMNS[p["title"]]
    )
    assert columns == expected
    assert cur.fetchall(), f"{p['title']} shows nothing for the recorded runs"


def test_total_cost_equals_teamtape_cost(lake_db, cost_json) -> None:
    [row] = run_panel(lake_db, *panel("Total cost"))
    assert row["cost_usd"] == pytest.approx(cost_json["model"]["total_cost_usd"], rel=1e-12)
    [unpriced] = run_panel(lake_db, *panel("Calls with unknown prices", "count(*) FILTER"))
    assert unpriced["unpriced_calls"] == cost_json["model"]["unpriced_calls"] == 1
    rows = run_panel(lake_db, *panel("Calls with unknown prices", "GROUP BY ALL"))
    assert [r["model"] for r in rows] == [UNPRICED_MODEL]
    series = run_panel(lake_db, *panel("Cost over time by model"))
    assert sum(r["cost_usd"] or 0 for r in series) == pytest.approx(row["cost_usd"], rel=1e-12)


@pytest.mark.parametrize("by", ["team", "agent", "model"])
def test_filtered_totals_equal_teamtape_cost_by_group(lake_db, cost_json, by: str) -> None:
    groups = [g for g in cost_json[by]["groups"] if g["cost_usd"]]
    assert len(groups) >= 2
    for group in groups:
        [row] = run_panel(lake_db, *panel("Total cost"), **{by: group["key"]})
        assert row["cost_usd"] == pytest.approx(group["cost_usd"], rel=1e-12), group["key"]


def test_cached_token_savings_are_the_price_of_cached_tokens(lake_db, recorded_store_dir: Path) -> None:
    from genai_prices import Usage, calc_price

    calls = open_store(recorded_store_dir).query(
        "SELECT model, input_tokens AS i, output_tokens AS o, cache_read_tokens AS c FROM llm_calls WHERE cache_read_tokens > 0"
    )
    assert calls, "the demo records prompt-cached calls"
    expected = sum(
        float(calc_price(Usage(input_tokens=c["i"], output_tokens=c["o"]), c["model"]).total_price)
        - float(
            calc_price(
                Usage(input_tokens=c["i"], output_tokens=c["o"], cache_read_tokens=c["c"]), c["model"]
            ).total_price
        )
        for c in calls
    )
    [row] = run_panel(lake_db, *panel("Cached-token savings"))
    assert expected > 0 and row["saved_usd"] == pytest.approx(expected, rel=1e-9)


def test_most_expensive_runs_show_the_commands_to_inspect_them(lake_db, recorded_store_dir: Path) -> None:
    store = open_store(recorded_store_dir)
    top = store.query(
        "SELECT run_id, cost_usd FROM runs WHERE parent_run_id IS NULL ORDER BY cost_usd DESC NULLS LAST LIMIT 1"
    )[0]
    rows = run_panel(lake_db, *panel("Most expensive runs"))
    assert rows[0]["run_id"] == top["run_id"] and rows[0]["cost_usd"] == pytest.approx(top["cost_usd"])
    assert rows[0]["show_command"] == f"teamtape show {top['run_id']}"
    assert rows[0]["replay_command"] == f"teamtape replay {top['run_id']}"
    assert len(rows) == store.query("SELECT count(*) AS n FROM runs WHERE parent_run_id IS NULL")[0]["n"]


def test_run_panels_match_the_store(lake_db, recorded_store_dir: Path) -> None:
    store = open_store(recorded_store_dir)
    by_status = {r["status"]: r["runs"] for r in run_panel(lake_db, *panel("Runs by status"))}
    assert by_status == {
        r["status"]: r["n"]
        for r in store.query(
            "SELECT status, count(*) AS n FROM runs WHERE parent_run_id IS NULL GROUP BY status"
        )
    }
    assert "error" in by_status
    handoffs = run_panel(lake_db, *panel("Handoffs"))
    assert (
        sum(r["handoffs"] for r in handoffs) == store.query("SELECT count(*) AS n FROM handoffs")[0]["n"] > 0
    )
    failed = run_panel(lake_db, *panel("Failed, crashed and cancelled runs"))
    assert {r["run_id"] for r in failed} == {
        r["run_id"]
        for r in store.query(
            "SELECT run_id FROM runs WHERE parent_run_id IS NULL AND status IN ('error', 'crashed', 'cancelled')"
        )
    }
    assert all("\n" not in (r["error"] or "") for r in failed)


def test_llm_and_tool_panels_match_the_store(lake_db, recorded_store_dir: Path) -> None:
    store = open_store(recorded_store_dir)
    by_model = {r["model"]: r for r in run_panel(lake_db, *panel("Latency and tokens by model"))}
    for row in store.query(  # as `teamtape cost`: not the calls a replay answered from the recording
        "SELECT model, count(*) AS n, quantile_cont(duration_ms, 0.95) AS p95, "
        "sum(input_tokens) AS i FROM llm_calls WHERE provider IS DISTINCT FROM 'replay' GROUP BY model"
    ):
        assert by_model[row["model"]]["llm_calls"] == row["n"]
        assert by_model[row["model"]]["p95_ms"] == pytest.approx(row["p95"])
        assert by_model[row["model"]]["input_tokens"] == row["i"]
    tools = {r["tool"]: r for r in run_panel(lake_db, *panel("Calls, error rate and latency by tool"))}
    for row in store.query(
        "SELECT tool, count(*) AS n, count(*) FILTER (WHERE is_error) AS e FROM tool_calls GROUP BY tool"
    ):
        assert (tools[row["tool"]]["tool_calls"], tools[row["tool"]]["errors"]) == (row["n"], row["e"])
    assert any(t["errors"] for t in tools.values()), "the demo's failing run has a tool error"


def test_the_time_range_filters_every_panel(lake_db) -> None:
    long_ago = (NOW - dt.timedelta(days=3650), NOW - dt.timedelta(days=3000))
    [row] = run_panel(lake_db, *panel("Total cost"), time_range=long_ago)
    assert row["cost_usd"] is None
    assert run_panel(lake_db, *panel("Most expensive runs"), time_range=long_ago) == []


def test_a_quote_in_a_selected_value_cannot_break_the_query(lake_db) -> None:
    [row] = run_panel(lake_db, *panel("Total cost"), team="o'brien'); DROP VIEW runs; --")
    assert row["cost_usd"] is None
    assert lake_db.execute("SELECT count(*) FROM runs").fetchall()[0][0] > 0


def test_per_host_lakes_merge_under_one_glob(tmp_path: Path) -> None:
    """Hosts export to their own prefixes; pointing the datasource at `<root>/*` reads them all."""
    from lake_support import add_run

    from teamtape.store.lake import export_lake

    runs = []
    for host in ("host-a", "host-b"):
        store = open_store(tmp_path / f"{host}-store", create=True)
        runs.append(add_run(store, name=host, model="gpt-4o-mini"))
        export_lake(store, tmp_path / "lakes" / host)
    con = duckdb.connect()
    con.execute(_build.init_sql(f"{tmp_path / 'lakes'}/*"))
    assert sorted(r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()) == sorted(runs)
    assert {r[0] for r in con.execute("SELECT team FROM run_facts").fetchall()} == {"host-a", "host-b"}
