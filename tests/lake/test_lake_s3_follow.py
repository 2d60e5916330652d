"""The lake on an S3-compatible bucket (a local moto server), and continuous export with --follow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from lake_support import add_run

from teamtape.store import Store, open_store
from teamtape.store.lake import export_lake, follow_lake, import_lake


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback, with one bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    fs = pafs.S3FileSystem(
        endpoint_override=f"{host}:{port}",
        scheme="http",
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    fs.create_dir("teamtape-lake")
    yield endpoint
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


def bucket_files(endpoint: str, prefix: str) -> list[str]:
    host = endpoint.split("://", 1)[1]
    fs = pafs.S3FileSystem(
        endpoint_override=host, scheme="http", access_key="testing", secret_key="testing", region="us-east-1"
    )
    infos = fs.get_file_info(
        pafs.FileSelector(f"teamtape-lake/{prefix}", recursive=True, allow_not_found=True)
    )
    return sorted(i.path for i in infos if i.type == pafs.FileType.File)


def test_export_to_s3_is_incremental_and_imports_back(
    recorded_store: Store, s3_endpoint: str, aws_env: None, tmp_path: Path
) -> None:
    uri = "s3://teamtape-lake/hosts/a"
    first = export_lake(recorded_store, uri, s3_endpoint=s3_endpoint)
    files = bucket_files(s3_endpoint, "hosts/a")
    assert first.rows["events"] > 100
    assert {f"teamtape-lake/hosts/a/{p}" for p in first.parts} <= set(files)
    assert "teamtape-lake/hosts/a/_teamtape/lake.json" in files
    assert export_lake(recorded_store, uri, s3_endpoint=s3_endpoint).total_rows == 0
    assert bucket_files(s3_endpoint, "hosts/a") == files

    copy = open_store(tmp_path / "copy", create=True)
    os.environ["AWS_ENDPOINT_URL"] = s3_endpoint  # the endpoint from the environment, as a user would set it
    try:
        report = import_lake(copy, uri)
    finally:
        del os.environ["AWS_ENDPOINT_URL"]
    assert report.new_events == first.rows["events"]
    check = "SELECT count(*) AS n, round(sum(cost_usd), 12) AS c FROM runs WHERE parent_run_id IS NULL"
    assert copy.query(check) == recorded_store.query(check)


def test_a_missing_bucket_is_a_clear_error(recorded_store: Store, s3_endpoint: str, aws_env: None) -> None:
    from teamtape.store.lake import LakeError

    with pytest.raises(
        LakeError, match=r"into the lake at s3://no-such-bucket/lake: .*bucket does not exist"
    ):
        export_lake(recorded_store, "s3://no-such-bucket/lake", s3_endpoint=s3_endpoint)


def test_follow_keeps_the_lake_up_to_date_while_runs_are_recorded(
    recorded_store: Store, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    stop = threading.Event()
    reports = []
    thread = threading.Thread(
        target=follow_lake,
        args=(recorded_store, lake),
        kwargs={"interval": 0.2, "stop": stop, "on_export": reports.append},
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not reports and time.monotonic() < deadline:
        time.sleep(0.05)
    run_id = add_run(recorded_store, name="while-following")
    while (
        not any("runs" in r.rows and r.rows.get("events") == 4 for r in reports)
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    late = add_run(recorded_store, name="just-before-stop")
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    exported = sum(r.rows.get("events", 0) for r in reports)
    assert exported == recorded_store.query("SELECT count(*) AS n FROM events")[0]["n"]
    assert run_id and late  # both runs reached the lake: the final export runs after stop
    assert reports[0].total_rows > 0 and len(reports) >= 3


def test_cli_follow_stops_cleanly_on_sigint(recorded_store: Store, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "teamtape",
            "export",
            "parquet",
            str(lake),
            "--follow",
            "--interval",
            "0.2",
            "--store",
            str(recorded_store.root),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(lake.glob("_teamtape/exports/*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        add_run(recorded_store, name="during-follow")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["exports"] >= 2
    assert doc["rows"]["events"] == recorded_store.query("SELECT count(*) AS n FROM events")[0]["n"]
