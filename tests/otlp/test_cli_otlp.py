"""`teamtape export otlp` as a user types it."""

from __future__ import annotations

import json

import pytest
from otlp_receivers import free_port
from otlp_runs import support_run, write_events

from teamtape.cli import main
from teamtape.store import open_store


@pytest.fixture
def store_path(tmp_path):
    store = open_store(tmp_path / "store", create=True)
    write_events(store, support_run())
    return str(tmp_path / "store")


def test_export_otlp_sends_a_run_and_says_so(store_path, http_receiver, capsys) -> None:
    code = main(
        [
            "--store",
            store_path,
            "export",
            "otlp",
            "last",
            "--endpoint",
            http_receiver.endpoint,
            "--header",
            "Authorization=Basic dXNlcjpwYXNz",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == f"Sent 15 spans from 2 runs to {http_receiver.endpoint}/v1/traces (http/protobuf)."
    assert len(http_receiver.got.spans()) == 15
    assert http_receiver.got.headers[0]["authorization"] == "Basic dXNlcjpwYXNz"


def test_json_output_is_one_document(store_path, grpc_receiver, capsys) -> None:
    code = main(
        [
            "export",
            "otlp",
            "--store",
            store_path,
            "--endpoint",
            grpc_receiver.endpoint,
            "--protocol",
            "grpc",
            "--metrics",
            "--capture-content",
            "--json",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    doc = json.loads(out)
    assert doc == {
        "destination": f"{grpc_receiver.endpoint} (grpc)",
        "runs": ["a1a1a1a1a1a1a1a1", "c2c2c2c2c2c2c2c2"],
        "spans": 15,
        "metrics": True,
        "content": True,
        "note": None,
    }
    assert "gen_ai.client.token.usage" in grpc_receiver.got.metric_names()
    assert b"Refund order 4711" in grpc_receiver.got.all_bytes()


def test_the_endpoint_can_come_from_the_environment(store_path, http_receiver, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.endpoint)
    assert main(["--store", store_path, "export", "otlp", "a1a1"]) == 0
    assert len(http_receiver.got.spans()) == 15


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "otlp"], "No OTLP endpoint: give --endpoint URL"),
        (
            ["export", "otlp", "--endpoint", "http://c:4318", "--header", "Authorization"],
            "--header 'Authorization' is not of the form NAME=VALUE",
        ),
        (["export", "otlp", "zzzz", "--endpoint", "http://c:4318"], "No run 'zzzz' in this store"),
        (
            ["export", "otlp", "--endpoint", "collector:port"],
            "has an invalid port: give a URL like http://localhost:4318",
        ),
    ],
)
def test_mistakes_exit_2_with_a_message(store_path, capsys, argv, message) -> None:
    assert main(["--store", store_path, *argv]) == 2
    _, err = capsys.readouterr()
    assert message in err and "Traceback" not in err


def test_an_unreachable_endpoint_exits_2_and_says_why(store_path, capsys) -> None:
    port = free_port()
    assert (
        main(
            [
                "--store",
                store_path,
                "export",
                "otlp",
                "--endpoint",
                f"http://127.0.0.1:{port}",
                "--timeout",
                "0.5",
            ]
        )
        == 2
    )
    _, err = capsys.readouterr()
    assert f"connection refused: nothing listens on 127.0.0.1:{port}" in err
    assert err.count("\n") == 1  # one line from teamtape, nothing from the SDK's loggers
