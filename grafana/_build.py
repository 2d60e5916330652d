"""The dashboards and the DuckDB datasource provisioning, generated from the SQL files.

The panels' SQL lives in ``sql/panels/<dashboard>/*.sql`` and the lake views in ``sql/views.sql``;
this module lays the panels out and writes ``dashboards/*.json`` and
``provisioning/datasources/teamtape.yaml``. Run ``python -m teamtape.grafana._build`` after
editing a SQL file; a test fails while the generated files are stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 41
"""Dashboard JSON schema version of the pinned Grafana (11.6)."""

PLUGIN_TYPE = "motherduck-duckdb-datasource"
DATASOURCE = {"type": PLUGIN_TYPE, "uid": "teamtape-lake"}
LAKE_IN_CONTAINER = "/var/lib/teamtape/lake"
ALL_VALUE = "'__all__'"
"""What "All" becomes in the SQL; panels filter with ``('__all__' IN ($v) OR col IN ($v))``."""

VARIABLES = {
    "team": ("Team", "SELECT DISTINCT team FROM run_facts ORDER BY 1"),
    "agent": ("Agent", "SELECT agent FROM llm_call_facts UNION SELECT agent FROM tool_call_facts ORDER BY 1"),
    "model": ("Model", "SELECT DISTINCT model FROM llm_call_facts ORDER BY 1"),
}


@dataclass(frozen=True)
class Panel:
    """One panel: a visualization of one SQL file."""

    title: str
    kind: str
    sql: str
    w: int
    h: int = 8
    unit: str | None = None
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return "time_series" if self.kind == "timeseries" else "table"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    folder: str
    variables: tuple[str, ...]
    rows: tuple[tuple[Panel, ...], ...]


STAT = {
    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    "colorMode": "none",
    "graphMode": "none",
    "textMode": "value",
}

DASHBOARDS = (
    Dashboard(
        "teamtape-cost",
        "teamtape · cost overview",
        "What the recorded AutoGen teams cost: totals, over time by model / agent / team, per run.",
        "cost",
        ("team", "agent", "model"),
        (
            (
                Panel(
                    "Total cost",
                    "stat",
                    "total_cost",
                    6,
                    4,
                    "currencyUSD",
                    "Sum of priced LLM calls (equals `teamtape cost`).",
                    STAT,
                ),
                Panel("LLM calls", "stat", "llm_calls", 6, 4, "short", options=STAT),
                Panel(
                    "Cached-token savings",
                    "stat",
                    "cache_savings",
                    6,
                    4,
                    "currencyUSD",
                    "What prompt caching and cache hits saved: each call priced without cached tokens, minus its cost.",
                    STAT,
                ),
                Panel(
                    "Calls with unknown prices",
                    "stat",
                    "unpriced_calls",
                    6,
                    4,
                    "short",
                    "Calls of models with no known price: not counted in any cost. Add prices in <store>/prices.toml.",
                    STAT,
                ),
            ),
            (
                Panel("Cost over time by model", "timeseries", "cost_by_model", 12, 9, "currencyUSD"),
                Panel("Cost over time by agent", "timeseries", "cost_by_agent", 12, 9, "currencyUSD"),
            ),
            (
                Panel("Cost over time by team", "timeseries", "cost_by_team", 12, 9, "currencyUSD"),
                Panel(
                    "Cost per run",
                    "timeseries",
                    "cost_per_run",
                    12,
                    9,
                    "currencyUSD",
                    "One point per top-level run, at its start, including nested runs' costs.",
                    {"legend": {"showLegend": False}},
                ),
            ),
            (
                Panel(
                    "Most expensive runs",
                    "table",
                    "most_expensive_runs",
                    24,
                    10,
                    None,
                    "Copy a command to inspect (`teamtape show`) or re-run offline (`teamtape replay`) a run.",
                ),
            ),
            (
                Panel("Cost by model", "table", "cost_by_model_table", 14, 8),
                Panel("Calls with unknown prices", "table", "unpriced_models", 10, 8),
            ),
        ),
    ),
    Dashboard(
        "teamtape-runs",
        "teamtape · runs and agents",
        "Run outcomes, errors, stop reasons, durations, handoffs and agent activity.",
        "runs",
        ("team", "agent"),
        (
            (
                Panel("Runs by status", "piechart", "runs_by_status", 8, 9, "short"),
                Panel("Runs over time by status", "timeseries", "runs_over_time", 16, 9, "short"),
            ),
            (Panel("Failed, crashed and cancelled runs", "table", "failed_runs", 24, 8),),
            (
                Panel("Stop reasons", "table", "stop_reasons", 12, 8),
                Panel("Run durations by team", "table", "run_durations", 12, 8),
            ),
            (
                Panel("Handoffs", "table", "handoffs", 12, 8),
                Panel("Messages by agent", "barchart", "agent_messages", 12, 8, "short"),
            ),
        ),
    ),
    Dashboard(
        "teamtape-llm",
        "teamtape · LLM latency and tokens",
        "Model call latency (p50/p95), time to first chunk of streamed calls, and token use.",
        "llm",
        ("team", "agent", "model"),
        (
            (
                Panel("LLM call latency p50 / p95", "timeseries", "latency", 12, 9, "ms"),
                Panel("Time to first chunk p50 / p95 (streamed calls)", "timeseries", "ttft", 12, 9, "ms"),
            ),
            (Panel("Tokens over time", "timeseries", "tokens", 24, 9, "short"),),
            (Panel("Latency and tokens by model", "table", "by_model", 24, 8),),
        ),
    ),
    Dashboard(
        "teamtape-tools",
        "teamtape · tools",
        "Tool calls: volume, error rates, latency, and the latest errors.",
        "tools",
        ("team", "agent"),
        (
            (Panel("Tool calls over time by tool", "timeseries", "calls_over_time", 24, 9, "short"),),
            (Panel("Calls, error rate and latency by tool", "table", "by_tool", 24, 8),),
            (Panel("Latest tool errors", "table", "errors", 24, 8),),
        ),
    ),
)


def package_dir() -> Path:
    return Path(str(resources.files("teamtape.grafana")))


def panel_sql(dashboard: Dashboard, panel: Panel) -> str:
    return (
        (package_dir() / "sql" / "panels" / dashboard.folder / f"{panel.sql}.sql")
        .read_text(encoding="utf-8")
        .strip()
    )


def views_sql() -> str:
    """The lake views (``sql/views.sql``): the datasource's initSql after the lake variable."""
    return (package_dir() / "sql" / "views.sql").read_text(encoding="utf-8")


def init_sql(lake: str = LAKE_IN_CONTAINER) -> str:
    """The datasource's ``initSql``: point ``teamtape_lake`` at the lake, then create the views."""
    return f"SET VARIABLE teamtape_lake = '{lake}';\n" + views_sql()


def _variable(name: str) -> dict[str, Any]:
    label, query = VARIABLES[name]
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": query,
        "refresh": 2,
        "sort": 1,
        "regex": "",
        "hide": 0,
        "multi": True,
        "includeAll": True,
        "allValue": ALL_VALUE,
        "current": {"text": ["All"], "value": ["$__all"]},
        "options": [],
    }


def _panel(dashboard: Dashboard, panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.h, "w": panel.w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit} if panel.unit else {}, "overrides": []},
        "options": panel.options,
        "targets": [
            {
                "refId": "A",
                "datasource": DATASOURCE,
                "editorMode": "code",
                "rawQuery": True,
                "format": panel.format,
                "rawSql": panel_sql(dashboard, panel),
            }
        ],
    }
    if panel.kind == "timeseries":
        out["maxDataPoints"] = 500
    return out


def build_dashboard(dashboard: Dashboard) -> dict[str, Any]:
    """The classic dashboard JSON Grafana provisions."""
    panels, y, pid = [], 0, 1
    for row in dashboard.rows:
        x = 0
        for panel in row:
            panels.append(_panel(dashboard, panel, pid, x, y))
            pid, x = pid + 1, x + panel.w
        y += max(p.h for p in row)
    links = [
        {
            "title": d.title,
            "type": "link",
            "url": f"/d/{d.uid}",
            "keepTime": True,
            "includeVars": True,
            "targetBlank": False,
            "asDropdown": False,
            "icon": "dashboard",
            "tags": [],
            "tooltip": "",
        }
        for d in DASHBOARDS
        if d.uid != dashboard.uid
    ]
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["teamtape", "autogen"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "timezone": "utc",
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "1m",
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": links,
        "annotations": {"list": []},
        "templating": {"list": [_variable(v) for v in dashboard.variables]},
        "panels": panels,
    }


def datasource_yaml() -> str:
    """``provisioning/datasources/teamtape.yaml``: an in-memory DuckDB reading the lake."""
    body = "\n".join(f"        {line}" if line else "" for line in init_sql().splitlines())
    return (
        "# Generated by `python -m teamtape.grafana._build` from sql/views.sql: edit that file, not this one.\n"
        "apiVersion: 1\n"
        "datasources:\n"
        "  - name: teamtape lake\n"
        f"    uid: {DATASOURCE['uid']}\n"
        f"    type: {PLUGIN_TYPE}\n"
        "    access: proxy\n"
        "    isDefault: true\n"
        "    editable: false\n"
        "    jsonData:\n"
        "      path: ''\n"
        "      initSql: |\n"
        f"{body}\n"
    )


def write_all(root: Path | None = None) -> list[Path]:
    """Regenerate every generated file; returns their paths."""
    root = root or package_dir()
    written = []
    for dashboard in DASHBOARDS:
        path = root / "dashboards" / f"{dashboard.uid}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(build_dashboard(dashboard), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    path = root / "provisioning" / "datasources" / "teamtape.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(datasource_yaml(), encoding="utf-8")
    written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in write_all():
        print(p)
