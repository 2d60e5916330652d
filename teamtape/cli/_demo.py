"""``teamtape demo``: record realistic multi-agent runs with no API key and no network."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from teamtape.store import TeamtapeError, open_store
from teamtape.tui._format import with_failures

from ._output import console, fmt_cost, fmt_ms, print_json, print_table, quiet_autogen_errors, store_flag


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="record handbook teams offline (a scripted OpenAI-compatible server on loopback)",
    )
    p.add_argument("--only", metavar="SCENARIO", action="append", help="run only this scenario (repeatable)")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=demo_command)


async def _record_scenarios(store_path: Any, names: list[str] | None) -> list[str]:
    import teamtape
    from teamtape.demo.scenarios import SCENARIOS, ScenarioContext

    chosen = [s for s in SCENARIOS if not names or s.name in names]
    unknown = set(names or []) - {s.name for s in SCENARIOS}
    if unknown:
        raise TeamtapeError(
            f"unknown demo scenario(s): {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(s.name for s in SCENARIOS)}"
        )
    run_ids: list[str] = []
    for scenario in chosen:
        async with teamtape.record(
            store=store_path, name=scenario.name, labels={"source": "teamtape-demo"}
        ) as rec:
            await scenario.run(ScenarioContext())
        run_ids.extend(rec.run_ids)
    return run_ids


def _activate_hint() -> str | None:
    """How to get this ``teamtape`` on PATH, when it is not (e.g. right after ``make demo``)."""
    here = Path(sys.executable).parent
    found = shutil.which("teamtape")
    if found and Path(found).resolve().parent == here.resolve():
        return None
    activate = here / "activate"
    if not activate.exists():
        return None
    relative = os.path.relpath(activate)
    return f"source {activate if relative.startswith('..') else relative}"


def demo_command(args: argparse.Namespace) -> int:
    store = open_store(args.store, create=True)
    started = time.perf_counter()
    with quiet_autogen_errors():  # the failing scenario's traceback is in the recording
        run_ids = asyncio.run(_record_scenarios(store.root, args.only))
    elapsed = (time.perf_counter() - started) * 1000
    rows = store.query(
        "SELECT run_id, name, team_type, status, stop_reason, error, messages, llm_calls, tool_calls, cost_usd, "
        "unpriced_calls, failed_calls, duration_ms FROM runs WHERE run_id IN (SELECT unnest(?)) AND parent_run_id IS NULL "
        "ORDER BY started_at",
        [run_ids],
    )
    if args.json:
        print_json({"store": str(store.root), "runs": rows, "elapsed_ms": elapsed})
        return 0
    out = console()
    out.print(
        f"[bold]teamtape demo[/] recorded {len(run_ids)} runs ({len(rows)} top-level) into {store.root} "
        f"in {fmt_ms(elapsed)} — no API key, no network: a scripted OpenAI-compatible server on loopback.\n"
    )
    print_table(
        ["run", "scenario", "status", "msgs", "llm", "tools", "cost", "stop reason"],
        [
            [
                r["run_id"][:8],
                r["name"],
                with_failures(r["status"], r["failed_calls"]),
                r["messages"],
                r["llm_calls"],
                r["tool_calls"],
                fmt_cost(r["cost_usd"], r["unpriced_calls"]),
                r["stop_reason"] or r["error"] or "",
            ]
            for r in rows
        ],
    )
    flag = store_flag(args.store, store.root)
    hints = [
        (f"teamtape runs{flag}", "all recorded runs"),
        (f"teamtape show last{flag}", "the last run as a timeline"),
        (f"teamtape cost --by agent{flag}", "what each agent cost"),
        (f'teamtape sql{flag} "SELECT agent, model, cost_usd FROM llm_calls"', "your own questions"),
        (f"teamtape tui{flag}", "browse everything in the terminal"),
        ("teamtape run my_team.py", "record your own team"),
    ]
    out.print("\n[bold]Next, try:[/]")
    activate = _activate_hint()
    if activate:
        out.print(f"  [cyan]{activate}[/]  [dim]# put teamtape on your PATH first[/]", soft_wrap=True)
    for command, what in hints:
        out.print(f"  [cyan]{command}[/]  [dim]# {what}[/]", soft_wrap=True)
    return 0
