"""The dashboards and provisioning are what Grafana accepts (no Grafana server runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from teamtape.grafana import _build

GRAFANA = _build.package_dir()
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def provisioned_datasources() -> dict[str, dict]:
    out = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["apiVersion"] == 1
        for ds in doc["datasources"]:
            assert {"name", "uid", "type", "access"} <= ds.keys(), ds
            out[ds["uid"]] = ds
    return out


def test_generated_files_are_up_to_date(tmp_path: Path) -> None:
    written = _build.write_all(tmp_path)
    for path in written:
        committed = GRAFANA / path.relative_to(tmp_path)
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is stale: run `python -m teamtape.grafana._build`"
        )
    assert len(DASHBOARD_FILES) == len(_build.DASHBOARDS) == 4


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_dashboard_is_structurally_valid(path: Path) -> None:
    dash = load(path)
    assert dash["schemaVersion"] == _build.SCHEMA_VERSION
    assert dash["uid"] == path.stem and len(dash["uid"]) <= 40
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    datasources = provisioned_datasources()
    cells: set[tuple[int, int]] = set()
    for panel in dash["panels"]:
        g = panel["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["x"] + g["w"] <= 24, panel["title"]
        cell = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cell & cells, f"{panel['title']} overlaps another panel"
        cells |= cell
        for ref in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            assert ref["uid"] in datasources and datasources[ref["uid"]]["type"] == ref["type"]
        for target in panel["targets"]:
            used = {name for name in ("team", "agent", "model") if f"${name}" in target["rawSql"]}
            assert used <= variables.keys(), f"{panel['title']} uses undefined {used - variables.keys()}"
            assert "$__timeGroup" not in target["rawSql"], (
                "the plugin expands $__timeGroup to datepart(), which DuckDB rejects"
            )
            if panel["type"] == "timeseries":
                assert target["format"] == "time_series" and " AS time" in target["rawSql"]
    for var in variables.values():
        assert var["datasource"]["uid"] in datasources
        assert var["includeAll"] and var["allValue"] == "'__all__'"
    for link in dash["links"]:
        assert Path(link["url"]).name in {p.stem for p in DASHBOARD_FILES}


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_dashboard_round_trips_through_the_foundation_sdk(path: Path) -> None:
    sdk = pytest.importorskip("grafana_foundation_sdk.models.dashboard")
    from grafana_foundation_sdk.cog.plugins import register_default_plugins

    register_default_plugins()
    original = load(path)
    parsed = sdk.Dashboard.from_json(original)
    again = json.loads(json.dumps(parsed.to_json(), default=lambda o: o.to_json()))
    assert again["uid"] == original["uid"] and again["schemaVersion"] == original["schemaVersion"]
    assert [(p["id"], p["type"], p["title"], p["gridPos"]) for p in again["panels"]] == [
        (p["id"], p["type"], p["title"], p["gridPos"]) for p in original["panels"]
    ]
    assert [t["rawSql"] for p in again["panels"] for t in p["targets"]] == [
        t["rawSql"] for p in original["panels"] for t in p["targets"]
    ]
    assert [v["name"] for v in again["templating"]["list"]] == [
        v["name"] for v in original["templating"]["list"]
    ]


def test_provisioning_points_grafana_at_the_lake() -> None:
    datasources = provisioned_datasources()
    lake = datasources["teamtape-lake"]
    assert lake["type"] == "motherduck-duckdb-datasource"
    assert lake["jsonData"]["path"] == "", (
        "in-memory DuckDB: the lake is read through views, nothing is locked"
    )
    assert lake["jsonData"]["initSql"] == _build.init_sql(), "initSql must be the SQL the tests run"
    assert lake["jsonData"]["initSql"].startswith(
        f"SET VARIABLE teamtape_lake = '{_build.LAKE_IN_CONTAINER}';"
    )
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "teamtape.yaml").read_text())[
        "providers"
    ]
    assert (
        providers[0]["type"] == "file"
        and providers[0]["options"]["path"] == "/var/lib/grafana/dashboards/teamtape"
    )
    compose = yaml.safe_load((GRAFANA / "docker-compose.yaml").read_text())
    grafana = compose["services"]["grafana"]
    image = grafana["image"]
    assert ":" in image and "latest" not in image, "the Grafana image must be pinned"
    mounts = " ".join(grafana["volumes"])
    assert _build.LAKE_IN_CONTAINER in mounts and "/var/lib/grafana/dashboards/teamtape" in mounts
    assert "motherduck-duckdb-datasource" in json.dumps(grafana["environment"])
