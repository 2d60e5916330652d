"""The benchmark suite behind ``make bench``: teamtape against its peers, side by side, in one run.

Writes ``BENCHMARKS.md`` (machine facts, the command, every figure as the median of several runs with
its ratio against a reference measured in the same run, and the goals with pass/miss)::

    .venv/bin/python -m tests.bench.run                  # the full suite, about 10 minutes
    .venv/bin/python -m tests.bench.run --smoke --output /tmp/bench.md   # tiny sizes, seconds
    .venv/bin/python -m tests.bench.run --only overhead,replay

Sections: ``overhead`` (recorder overhead vs no recording and the peers), ``overhead-openai`` (the
same on AutoGen's OpenAI client), ``ingest``, ``replay``,
``tui`` and ``queries`` (on a synthetic 10,000-run / 1,000,000-event store built once per run),
``growth`` (one run from 1,000 to 100,000 events). Exit code 1 when a section failed to run (the
report is written anyway, naming the failure); a missed goal is reported, not an error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.bench import suite_growth, suite_overhead, suite_replay, suite_store, suite_tui
from tests.bench._harness import ROOT, Section, WorkerError, machine_facts

SECTIONS = ("overhead", "overhead-openai", "ingest", "replay", "tui", "queries", "growth")


@dataclass(frozen=True)
class Sizes:
    """How big and how many times: the full suite, or the smoke version CI runs."""

    overhead_messages: int = 900
    overhead_rounds: int = 5
    openai_messages: int = 900
    openai_rounds: int = 5
    openai_context: int = 10
    ingest_events: int = 200_000
    ingest_rounds: int = 3
    replay_calls: int = 200
    replay_rounds: int = 7
    synthetic_runs: int = 10_000
    synthetic_events: int = 1_000_000
    big_run_events: int = 10_000
    tui_trials: int = 3
    query_rounds: int = 5
    growth_sizes: list[int] = field(default_factory=lambda: [1_000, 10_000, 100_000])
    growth_rounds: int = 3


SMOKE = Sizes(
    overhead_messages=12,
    overhead_rounds=1,
    openai_messages=12,
    openai_rounds=1,
    ingest_events=400,
    ingest_rounds=1,
    replay_calls=6,
    replay_rounds=1,
    synthetic_runs=12,
    synthetic_events=600,
    big_run_events=120,
    tui_trials=1,
    query_rounds=1,
    growth_sizes=[120, 240],
    growth_rounds=1,
)


class SyntheticStore:
    """The 10,000-run / 1,000,000-event store of sections 4 and 5, built on first use."""

    def __init__(self, directory: Path, sizes: Sizes) -> None:
        self.path = directory / "synthetic"
        self.sizes = sizes
        self.big_run_id: str | None = None
        self.build_s = 0.0

    def get(self) -> tuple[Path, str]:
        if self.big_run_id is None:
            from tests.support.synthetic import build_synthetic_store

            t = time.perf_counter()
            info = build_synthetic_store(
                self.path,
                runs=self.sizes.synthetic_runs,
                events=self.sizes.synthetic_events,
                big_run_events=self.sizes.big_run_events,
            )
            self.build_s = time.perf_counter() - t
            self.big_run_id = str(info.big_run_id)
            self.runs, self.events = info.runs, info.events
        return self.path, self.big_run_id


def _plan(sizes: Sizes, synthetic: SyntheticStore) -> dict[str, Callable[[], Section]]:
    def tui() -> Section:
        path, big = synthetic.get()
        return suite_tui.section(path, big, sizes.tui_trials, synthetic.runs, synthetic.events)

    def queries() -> Section:
        path, _ = synthetic.get()
        return suite_store.queries_section(path, sizes.query_rounds)

    return {
        "overhead": lambda: suite_overhead.section(sizes.overhead_messages, sizes.overhead_rounds),
        "overhead-openai": lambda: suite_overhead.openai_section(
            sizes.openai_messages, sizes.openai_rounds, sizes.openai_context
        ),
        "ingest": lambda: suite_store.ingest_section(sizes.ingest_events, sizes.ingest_rounds),
        "replay": lambda: suite_replay.section(sizes.replay_calls, sizes.replay_rounds),
        "tui": tui,
        "queries": queries,
        "growth": lambda: suite_growth.section(sizes.growth_sizes, sizes.growth_rounds),
    }


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def render(
    sections: list[Section], facts: dict[str, str], command: str, started: datetime, seconds: float
) -> str:
    """BENCHMARKS.md: goals first, then the machine, then each section's figures."""
    out = [
        "# teamtape benchmarks",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} minutes. "
        "Every figure is the median of several runs, next to a reference measured in the same run "
        "(ratios, not absolute times, are what carry from one machine to another). "
        "The suite lives in `tests/bench/` (`run.py` drives it; see `docs/benchmarks.md`).",
        "",
        "## Goals",
        "",
    ]
    goals = [g.row() for s in sections for g in s.goals]
    out += _table(["goal", "target", "measured", ""], goals) if goals else ["(no goals measured)"]
    failed = [s for s in sections if s.error]
    if failed:
        out += ["", "Sections that did not run: " + ", ".join(s.title for s in failed) + "."]
    out += ["", "## Machine", ""]
    out += _table(["", ""], [[k, v] for k, v in facts.items()])
    for s in sections:
        out += ["", f"## {s.title}", "", s.intro, ""]
        if s.error:
            out += ["**This section failed to run:**", "", "```", s.error.strip(), "```"]
            continue
        out += _table(s.header, s.rows)
        if s.notes:
            out += [""] + [f"- {n}" for n in s.notes]
        out += ["", f"_Section took {s.seconds:.0f} s._"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one round: checks the harness in seconds"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "BENCHMARKS.md", help="where to write the report"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections of: {', '.join(SECTIONS)}"
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; pick from {', '.join(SECTIONS)}")
    sizes = SMOKE if args.smoke else Sizes()
    command = "python -m tests.bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    if argv is None and not sys.argv[1:]:
        command = "make bench (.venv/bin/python -m tests.bench.run)"
    started, t0 = datetime.now(UTC), time.perf_counter()
    facts = machine_facts()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="teamtape-bench-") as tmp:
        synthetic = SyntheticStore(Path(tmp), sizes)
        plan = _plan(sizes, synthetic)
        for name in chosen:
            print(f"[bench] {name} ...", flush=True)
            t = time.perf_counter()
            try:
                section = plan[name]()
            except (WorkerError, Exception) as e:
                detail = str(e) if isinstance(e, WorkerError) else traceback.format_exc()
                section = Section(title=name, intro="", error=detail)
            section.seconds = time.perf_counter() - t
            if synthetic.build_s and name in ("tui", "queries"):
                section.notes.append(
                    f"Building the synthetic store took {synthetic.build_s:.0f} s (once per run)."
                )
                synthetic.build_s = 0.0
            sections.append(section)
            print(
                f"[bench] {name}: {'FAILED' if section.error else 'done'} in {section.seconds:.0f} s",
                flush=True,
            )
    report = render(sections, facts, command, started, time.perf_counter() - t0)
    args.output.write_text(report, encoding="utf-8")
    print(f"[bench] wrote {args.output}")
    return 1 if any(s.error for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
