"""Figures for the OTLP export: the cost of handle() to the team, live throughput, export speed.

Run: .venv/bin/python tests/otlp/bench_otlp.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))

from otlp_receivers import GrpcReceiver, HttpReceiver, free_port
from otlp_runs import support_run

from teamtape.recorder.otlp import OtlpSink, export_runs
from teamtape.store import open_store


def events(n_runs: int):
    out = []
    for i in range(n_runs):
        out += support_run(f"{i:016x}", f"c{i:015x}")
    return out


def live(endpoint: str, protocol: str, n_runs: int = 400) -> None:
    evs = events(n_runs)
    sink = OtlpSink(endpoint, protocol, timeout=1.0, max_queue=100_000)
    lat = []
    start = time.perf_counter()
    for e in evs:
        t = time.perf_counter()
        sink.handle(e)
        lat.append(time.perf_counter() - t)
    fed = time.perf_counter() - start
    sink.flush(60)
    done = time.perf_counter() - start
    sink.close()
    lat.sort()
    print(
        f"  {protocol:13s} {len(evs)} events: handle() mean {statistics.mean(lat) * 1e6:.1f} us, "
        f"p99 {lat[int(len(lat) * 0.99)] * 1e6:.1f} us, max {lat[-1] * 1e6:.0f} us; fed in {fed * 1e3:.0f} ms; "
        f"{sink.stats.spans_exported} spans exported, {sink.dropped} dropped, all out after {done:.2f} s "
        f"({sink.stats.spans_exported / done:.0f} spans/s)"
    )


def export(n_runs: int = 400) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "s", create=True)
        writer = store.writer()
        writer.append_many(events(n_runs))
        writer.close()
        store.sync()
        for name, rx_cls, proto in (("http", HttpReceiver, "http/protobuf"), ("grpc", GrpcReceiver, "grpc")):
            with rx_cls() as rx:
                t = time.perf_counter()
                report = export_runs(store, None, rx.endpoint, proto)
                dt = time.perf_counter() - t
            print(
                f"  export_runs {name:4s}: {len(report.runs)} runs, {report.spans} spans in {dt:.2f} s "
                f"({report.spans / dt:.0f} spans/s)"
            )


if __name__ == "__main__":
    print("live sink, receiver up:")
    with HttpReceiver() as rx:
        live(rx.endpoint, "http/protobuf")
    with GrpcReceiver() as rx:
        live(rx.endpoint, "grpc")
    print("live sink, endpoint down:")
    live(f"http://127.0.0.1:{free_port()}", "http/protobuf")
    live(f"http://127.0.0.1:{free_port()}", "grpc")
    print("export from the store:")
    export()
