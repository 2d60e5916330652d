"""Items 1 and 1b: recorder overhead on the zero-latency team, teamtape against its peers.

Each variant runs in its own fresh process (:mod:`tests.bench.overhead`), interleaved: one round
runs every variant once (starting from a different one each round), so a busy moment on the machine
hits all of them. Ratios are the median over rounds of ``variant / bare`` within the round.

Section 1 is the goal's run: the in-process model, so the figures are against AutoGen alone.
Section 1b runs the same script behind AutoGen's real ``OpenAIChatCompletionClient`` (answered in
process, no network), the path most teams take, with each agent's context bounded.
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
    "openinference-as-installed": "… OpenInference as installed (no model-call spans on this model)",
    "autogen-otel": "AutoGen runtime tracing + InMemorySpanExporter",
}
OPENAI_LABELS = {v: label for v, label in LABELS.items() if v != "openinference-as-installed"}
PEERS = {  # the peers teamtape is held to (not OpenInference as installed: it records no model call here)
    "openinference": "OpenInference autogen-agentchat",
    "autogen-otel": "AutoGen runtime tracing",
}
GOAL_RATIO = 1.10
COMMON_NOTES = [
    "Every variant imports `autogen_ext.models.openai` before timing, as any team on an OpenAI-compatible "
    "client does (teamtape and OpenInference import it anyway): its ~60,000 objects make each full garbage "
    "collection slower (measured: +~40 ms per 900-message run), which would otherwise be charged to them alone.",
    "AutoGen runtime tracing: an SDK `TracerProvider` with `SimpleSpanProcessor(InMemorySpanExporter)` set "
    "as the global provider (AutoGen's runtime and agents read the global one).",
]


def collect(
    variants: list[str], messages: int, rounds: int, *team_args: str
) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` interleaved rounds of every variant; returns each variant's per-round figures."""
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-overhead-") as tmp:
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for variant in order:
                store = Path(tmp) / f"{variant}-{r}"
                args = ("--messages", str(messages), "--store", str(store), *team_args)
                samples[variant].append(worker("tests.bench.overhead", variant, *args))
    return samples


def _kept(figures: dict[str, Any]) -> str:
    if "events" in figures:
        return f"{figures['events']:,} events, {figures['journal_bytes'] / 1e6:.1f} MB journal"
    return f"{figures['spans']:,} spans" if "spans" in figures else "–"


def _table(
    samples: dict[str, list[dict[str, Any]]], labels: dict[str, str]
) -> tuple[list[list[str]], dict[str, float | None]]:
    """The rows of an overhead table and each variant's CPU ratio to no recording (None: not measured)."""
    skipped = {v: runs[0]["skipped"] for v, runs in samples.items() if "skipped" in runs[0]}
    cpu = {v: [s["cpu_s"] for s in runs] for v, runs in samples.items() if v not in skipped}
    wall = {v: [s["wall_s"] for s in runs] for v, runs in samples.items() if v not in skipped}
    ratio = {v: paired_ratio(cpu[v], cpu["bare"]) if v in cpu else None for v in labels}
    rows = []
    for variant, label in labels.items():
        if variant in skipped:
            rows.append([label, "not measured", "", "", "", skipped[variant]])
            continue
        rows.append(
            [
                label,
                fmt_time(median(cpu[variant])),
                fmt_ratio(paired_ratio(cpu[variant], cpu["bare"])),
                fmt_time(median(wall[variant])),
                fmt_ratio(paired_ratio(wall[variant], wall["bare"])),
                _kept(samples[variant][-1]),
            ]
        )
    return rows, ratio


def _goals(ratio: dict[str, float | None], labels: dict[str, str], suffix: str = "") -> list[Goal]:
    goals = [
        Goal(f"teamtape (content on) CPU time vs no recording{suffix}", ratio["teamtape"], GOAL_RATIO),
        Goal(
            f"teamtape (content off) CPU time vs no recording{suffix}",
            ratio["teamtape-no-content"],
            GOAL_RATIO,
        ),
    ]
    for peer, name in PEERS.items():
        if peer not in labels:
            continue
        mine, theirs = ratio["teamtape"], ratio[peer]
        goals.append(
            Goal(
                f"teamtape (content on) CPU time vs {name}{suffix}",
                mine / theirs if mine is not None and theirs is not None else None,
                1.0,
            )
        )
    return goals


def _summary_note(samples: dict[str, list[dict[str, Any]]]) -> str:
    made = {s["messages"] for runs in samples.values() for s in runs if "messages" in s}
    failures = sum(
        s.get("recorder_failures", 0) for v in ("teamtape", "teamtape-no-content") for s in samples[v]
    )
    return f"Chat messages per timed run: {sorted(made)}; recorder failures: {failures}."


HEADER = ["variant", "CPU (median)", "CPU ratio", "wall (median)", "wall ratio", "kept per run"]


def _section(
    title: str,
    intro: str,
    samples: dict[str, list[dict[str, Any]]],
    labels: dict[str, str],
    notes: list[str],
    goal_suffix: str = "",
) -> Section:
    rows, ratio = _table(samples, labels)
    return Section(
        title=title,
        intro=intro,
        header=HEADER,
        rows=rows,
        notes=[_summary_note(samples), *notes],
        goals=_goals(ratio, labels, goal_suffix),
    )


def section(messages: int, rounds: int) -> Section:
    """Section 1: the in-process model (the goal's run)."""
    return _section(
        "1. Recorder overhead on a zero-latency team",
        f"A 3-agent `RoundRobinGroupChat` (`tests/bench/zero_latency_team.py`) with a tool called on every "
        f"other model call and an in-process model that answers at once, run to {messages} chat messages "
        f"(plus tool events). Each variant runs in its own fresh process, interleaved, rounds: {rounds}; "
        "each process warms up with a 30-message run first and times `team.run()` only. "
        "Process CPU time (`time.process_time`) is the headline: the machine has 2 cores shared with other "
        "work, so wall time is noisier; both are shown. Ratios are the median over rounds of "
        "variant ÷ no recording measured in the same round.",
        collect(list(LABELS), messages, rounds),
        LABELS,
        [
            "OpenInference wraps only OpenAI-family clients' `create`; in the first OpenInference row its own "
            "create wrapper is applied to the in-process model as well, so it traces the model calls a real "
            "OpenAI-backed team would make (and serializes each call's whole context). The row below it is "
            "OpenInference as installed, which on this model traces agents and the team only.",
            *COMMON_NOTES,
        ],
    )


def openai_section(messages: int, rounds: int, context: int) -> Section:
    """Section 1b: the same team on AutoGen's OpenAI client, answered in process."""
    return _section(
        "1b. Recorder overhead on AutoGen's OpenAI client",
        f"The team of section 1, with the same script answered through AutoGen's real "
        f"`OpenAIChatCompletionClient`: an `httpx.MockTransport` answers in this process (no socket, no "
        f"wait), so each call pays what a team on an OpenAI-compatible model pays, the network aside "
        f"(the openai SDK building and parsing each request, AutoGen's logging of it). Each agent keeps its "
        f"last {context} messages (`BufferedChatCompletionContext`), as a long-running team must: with its "
        f"whole context the SDK's per-call work on {messages} messages dominates everything (about 60 s a "
        f"run here) and every variant's ratio tends to 1. Run to {messages} chat messages, each variant in "
        f"its own fresh process, interleaved, rounds: {rounds}.",
        collect(list(OPENAI_LABELS), messages, rounds, "--client", "openai", "--context", str(context)),
        OPENAI_LABELS,
        ["OpenInference traces this client's model calls as installed (nothing added).", *COMMON_NOTES[1:]],
        " (OpenAI client)",
    )
