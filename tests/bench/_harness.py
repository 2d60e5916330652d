"""Shared pieces of the benchmark suite: worker processes, medians, ratios, goals, machine facts.

Every measurement runs in a fresh worker process (``python -m tests.bench.<module> ... --out FILE``)
that writes its figures as JSON, so no variant's patches, tracer provider or caches leak into
another's figures, and one section failing does not take the others down.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "teamtape",
    "autogen-agentchat",
    "autogen-core",
    "autogen-ext",
    "duckdb",
    "pyarrow",
    "textual",
    "opentelemetry-sdk",
    "openinference-instrumentation-autogen-agentchat",
)


class WorkerError(RuntimeError):
    """A benchmark worker process failed; the message carries the end of its stderr."""


def worker(module: str, *args: str, timeout: float = 900.0) -> dict[str, Any]:
    """Run ``python -m module *args --out FILE`` in a fresh process and return the JSON it wrote.

    Example:
        >>> worker("tests.bench.overhead", "bare", "--messages", "6")["messages"]
        6
    """
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-worker-") as tmp:
        out = Path(tmp) / "figures.json"
        # A fixed hash seed: AutoGen's `isinstance(tool, StreamTool)` (a runtime Protocol) walks the
        # protocol's attributes in set order, and with some seeds that evaluates every tool's `schema`
        # property (a pydantic JSON-schema build), which makes whole runs ~10 % slower at random.
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TEAMTAPE_BUSY_TIMEOUT": "120", "PYTHONHASHSEED": "0"}
        for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            env.pop(var, None)
        proc = subprocess.run(
            [sys.executable, "-m", module, *args, "--out", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise WorkerError(f"{module} {' '.join(args)} exited {proc.returncode}:\n{tail}")
        return dict(json.loads(out.read_text()))


def write_figures(path: str | os.PathLike[str], figures: dict[str, Any]) -> None:
    """What a worker does last: its figures as one JSON document."""
    Path(path).write_text(json.dumps(figures, indent=1))


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def paired_ratio(samples: Sequence[float], reference: Sequence[float]) -> float:
    """Median of the per-repetition ratios ``samples[i] / reference[i]`` (both taken in one round)."""
    return median([a / b for a, b in zip(samples, reference, strict=True) if b])


@dataclass
class Goal:
    """A target a figure is held to: ``value <= limit`` (or ``>=`` when ``at_least``)."""

    text: str
    value: float | None
    limit: float
    unit: str = "×"
    at_least: bool = False

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def row(self) -> list[str]:
        sign = "≥" if self.at_least else "≤"
        if self.value is None:
            return [self.text, f"{sign} {self.limit:g}{self.unit}", "not measured", "–"]
        verdict = "**pass**" if self.passed else "**MISS**"
        return [self.text, f"{sign} {self.limit:g}{self.unit}", f"{self.value:.2f}{self.unit}", verdict]


@dataclass
class Section:
    """One part of BENCHMARKS.md: what was measured, a table of figures, notes and goals."""

    title: str
    intro: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def fmt_time(seconds: float) -> str:
    """A duration in the unit that reads best (µs, ms or s)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"


def fmt_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1e6:.1f} GB"
    except OSError:
        pass
    return "unknown"


def machine_facts() -> dict[str, str]:
    """CPU, cores, memory, OS, Python and the versions of the packages that are measured."""
    facts = {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory_gb(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
    }
    try:
        facts["load average at start"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    for dist in PACKAGES:
        try:
            facts[dist] = version(dist)
        except PackageNotFoundError:
            facts[dist] = "not installed"
    return facts
