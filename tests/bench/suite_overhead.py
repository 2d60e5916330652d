"""Item 1: recorder overhead on the zero-latency team, teamtape against its peers.

Each variant runs in its own fresh process (:mod:`tests.bench.overhead`), interleaved: one round
runs every variant once (starting from a different one each round), so a busy moment on the machine
hits all of them. Ratios are the median over rounds of ``variant / bare`` within the round.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.bench._harness import Goal, Section, fmt_ratio, fmt_time, median, paired_ratio, worker

LABELS = {
    "bare": "no recording (reference)",
    "teamtape": "teamtape, content capture on",
    "teamtape-no-content": "teamtape, content capture off",
    "openinference": "OpenInference autogen-agentchat + InMemorySpanExporter",
    "autogen-otel": "AutoGen runtime tracing + InMemorySpanExporter",
}
PEERS = ("openinference", "autogen-otel")
GOAL_RATIO = 1.10


def collect(messages: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` interleaved rounds of every variant; returns each variant's per-round figures."""
    variants = list(LABELS)
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-overhead-") as tmp:
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for variant in order:
                store = Path(tmp) / f"{variant}-{r}"
                samples[variant].append(
                    worker(
                        "tests.bench.overhead", variant, "--messages", str(messages), "--store", str(store)
                    )
                )
    return samples


def section(messages: int, rounds: int) -> Section:
    samples = collect(messages, rounds)
    skipped = {v: runs[0]["skipped"] for v, runs in samples.items() if "skipped" in runs[0]}
    cpu = {v: [s["cpu_s"] for s in runs] for v, runs in samples.items() if v not in skipped}
    wall = {v: [s["wall_s"] for s in runs] for v, runs in samples.items() if v not in skipped}
    ratio: dict[str, float | None] = {
        v: paired_ratio(cpu[v], cpu["bare"]) if v in cpu else None for v in LABELS
    }
    rows = []
    for variant, label in LABELS.items():
        if variant in skipped:
            rows.append([label, "not measured", "", "", "", skipped[variant]])
            continue
        last = samples[variant][-1]
        kept = (
            f"{last['events']:,} events, {last['journal_bytes'] / 1e6:.1f} MB journal"
            if "events" in last
            else f"{last['spans']:,} spans"
            if "spans" in last
            else "–"
        )
        rows.append(
            [
                label,
                fmt_time(median(cpu[variant])),
                fmt_ratio(paired_ratio(cpu[variant], cpu["bare"])),
                fmt_time(median(wall[variant])),
                fmt_ratio(paired_ratio(wall[variant], wall["bare"])),
                kept,
            ]
        )
    messages_made = {s["messages"] for runs in samples.values() for s in runs if "messages" in s}
    goals = [
        Goal("teamtape (content on) CPU time vs no recording", ratio["teamtape"], GOAL_RATIO),
        Goal("teamtape (content off) CPU time vs no recording", ratio["teamtape-no-content"], GOAL_RATIO),
    ]
    for peer in PEERS:
        mine, theirs = ratio["teamtape"], ratio[peer]
        goals.append(
            Goal(
                f"teamtape (content on) CPU time vs {LABELS[peer].split(' +')[0]}",
                mine / theirs if mine is not None and theirs is not None else None,
                1.0,
            )
        )
    failures = [
        s.get("recorder_failures", 0) for v in ("teamtape", "teamtape-no-content") for s in samples[v]
    ]
    return Section(
        title="1. Recorder overhead on a zero-latency team",
        intro=(
            f"A 3-agent `RoundRobinGroupChat` (`tests/bench/zero_latency_team.py`) with a tool called on every "
            f"other model call and an in-process model that answers at once, run to {messages} chat messages "
            f"(plus tool events). Each variant runs in its own fresh process, interleaved, rounds: {rounds}; "
            "each process warms up with a 30-message run first and times `team.run()` only. "
            "Process CPU time (`time.process_time`) is the headline: the machine has 2 cores shared with other "
            "work, so wall time is noisier; both are shown. Ratios are the median over rounds of "
            "variant ÷ no recording measured in the same round."
        ),
        header=["variant", "CPU (median)", "CPU ratio", "wall (median)", "wall ratio", "kept per run"],
        rows=rows,
        notes=[
            f"Chat messages per timed run: {sorted(messages_made)}; recorder failures: {sum(failures)}.",
            "OpenInference wraps only OpenAI-family clients' `create`; its own create wrapper is applied to the "
            "in-process model as well, so it traces the model calls a real OpenAI-backed team would make.",
            "Every variant imports `autogen_ext.models.openai` before timing, as any team on an OpenAI-compatible "
            "client does (teamtape and OpenInference import it anyway): its ~60,000 objects make each full garbage "
            "collection slower (measured: +~40 ms per 900-message run), which would otherwise be charged to them alone.",
            "AutoGen runtime tracing: an SDK `TracerProvider` with `SimpleSpanProcessor(InMemorySpanExporter)` set "
            "as the global provider (AutoGen's runtime and agents read the global one).",
        ],
        goals=goals,
    )
