"""``runs``, ``show``, ``cost`` and ``sql``: reading the store from the terminal."""

from __future__ import annotations

import argparse
from typing import Any

from teamtape.replay._names import original_name
from teamtape.store import QueryError, RunStatus, TeamtapeError, open_store, resolve_run_ref
from teamtape.store.costs import NO_USAGE
from teamtape.tui._filter import FAILURES
from teamtape.tui._format import NO_AGENT, counted, with_failures

from ._output import fmt_cost, fmt_ms, fmt_tokens, fmt_ts, print_json, print_table, store_flag
from ._show import render_run, run_document

RUN_COLUMNS = (
    "run_id, parent_run_id, session_id, replay_of, fork_of, name, team_type, task, status, stop_reason, error, "
    "started_at, ended_at, duration_ms, messages, llm_calls, tool_calls, input_tokens, output_tokens, "
    "cache_read_tokens, cost_usd, unpriced_calls, failed_calls"
)
SERVED_FROM_RECORDING = "replay"
"""The provider of model calls answered from a recording (teamtape replay, AutoGen's replay client):
they cost nothing and are the recorded calls again, so ``cost`` leaves them out."""
SERVED_CALL = f"""(c.provider = '{SERVED_FROM_RECORDING}' OR root.replay_of IS NOT NULL
                   OR (root.fork_of IS NOT NULL AND c.cached))"""
"""SQL over ``llm_calls c`` and its top-level run ``root``: the call was answered from a recording. A
replay's calls all were, whatever client a ``--factory`` team used; a fork's were up to where it went
live (those it made live cost money and are counted)."""
RUN_TREE = """WITH RECURSIVE tree(run_id, root_id, depth) AS (
            SELECT run_id, run_id, 0 FROM runs WHERE parent_run_id IS NULL
            UNION ALL
            SELECT r.run_id, t.root_id, t.depth + 1 FROM runs r JOIN tree t ON r.parent_run_id = t.run_id
            WHERE t.depth < 64
        )"""
"""Every run with the top-level run it belongs to (``root_id``)."""
COST_GROUPS = {
    "model": "coalesce(c.model, '(unknown model)')",
    "agent": f"coalesce(c.agent, '{NO_AGENT}')",
    "team": "coalesce(root.name, root.team_type)",
    "day": "strftime(c.ts, '%Y-%m-%d')",
}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("runs", parents=[common], help="list recorded runs, newest first")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.add_argument(
        "--status",
        choices=[*(s.value for s in RunStatus), FAILURES],
        help=f"only runs with this status ({FAILURES}: runs with a failed model or tool call)",
    )
    p.add_argument("--limit", type=int, default=30, help="at most this many runs (default 30)")
    p.add_argument(
        "--all", action="store_true", help="include nested runs (AgentTool, TeamTool, inner teams)"
    )
    p.set_defaults(func=runs_command)

    p = sub.add_parser("show", parents=[common], help="show one run as a timeline")
    p.add_argument("run", metavar="RUN", help="a run id, a unique prefix, or `last`")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=show_command)

    p = sub.add_parser("cost", parents=[common], help="what the recorded runs cost")
    p.add_argument(
        "--by",
        choices=sorted(COST_GROUPS),
        default="model",
        help="group by (default: model; days are UTC days)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=cost_command)

    p = sub.add_parser("sql", parents=[common], help="read-only SQL over the projections")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=sql_command)


def runs_command(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise TeamtapeError("--limit must be at least 1")
    store = open_store(args.store)
    where, params = [], []
    if not args.all:
        where.append("parent_run_id IS NULL")
    if args.status == FAILURES:
        where.append("failed_calls > 0")
    elif args.status:
        where.append("status = ?")
        params.append(args.status)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.query(
        f"SELECT {RUN_COLUMNS}, (SELECT count(*) FROM runs c WHERE c.parent_run_id = runs.run_id) AS children "
        f"FROM runs {clause} ORDER BY started_at DESC NULLS LAST LIMIT ?",
        [*params, args.limit],
    )
    if args.json:
        print_json({"store": str(store.root), "runs": rows})
        return 0
    if not rows:
        print("No runs recorded yet. Try `teamtape demo`, or record your own with `teamtape run my_team.py`.")
        return 0
    print_table(
        [
            "run",
            "started",
            "name / team",
            "status",
            "stop reason",
            "msgs",
            "llm",
            "tokens in/out",
            "cost",
            "duration",
        ],
        [
            [
                r["run_id"][:12],
                fmt_ts(r["started_at"]),
                _run_title(r),
                with_failures(r["status"], r["failed_calls"]),
                _short(r["stop_reason"] or r["error"], 40),
                r["messages"],
                r["llm_calls"],
                fmt_tokens(r["input_tokens"], r["output_tokens"]),
                fmt_cost(r["cost_usd"], r["unpriced_calls"]),
                fmt_ms(r["duration_ms"]),
            ]
            for r in rows
        ],
        flex=[2, 4],
        droppable=[7, 9, 1, 5],  # in a narrow terminal: tokens, duration, started, then messages
    )
    return 0


def _run_title(run: dict[str, Any]) -> str:
    """A run's name and team type; a replay or fork says so first, where a narrow column does not cut it."""
    name = original_name(run["name"] or "")
    title = " · ".join(part for part in (name, run["team_type"]) if part)
    if run.get("fork_of"):
        return f"(fork) {title}"
    return f"(replay) {title}" if run["replay_of"] else title


def _short(text: str | None, n: int) -> str:
    if not text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def show_command(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    with store.connect() as con:
        run_id = resolve_run_ref(con, args.run)
        doc = run_document(con, run_id)
    if args.json:
        print_json(doc)
    else:
        render_run(doc, store_flag(args.store, store.root))
    return 0


def cost_command(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    group = COST_GROUPS[args.by]
    rows = store.query(
        f"""
        {RUN_TREE}
        SELECT {group} AS key,
               count(*) AS llm_calls,
               sum(c.input_tokens) AS input_tokens,
               sum(c.output_tokens) AS output_tokens,
               sum(c.cache_read_tokens) AS cache_read_tokens,
               sum(c.cost_usd) AS cost_usd,
               count(*) FILTER (WHERE c.cost_usd IS NULL) AS unpriced_calls,
               count(*) FILTER (WHERE c.cost_usd IS NULL AND c.price_source = ?) AS no_usage_calls,
               list(DISTINCT c.model) FILTER (WHERE c.cost_usd IS NULL AND c.price_source IS DISTINCT FROM ?)
                   AS unpriced_models
        FROM llm_calls c
        JOIN tree t ON t.run_id = c.run_id
        JOIN runs root ON root.run_id = t.root_id
        WHERE NOT {SERVED_CALL}
        GROUP BY ALL ORDER BY cost_usd DESC NULLS LAST, key
        """,
        [NO_USAGE, NO_USAGE],
    )
    (served,) = store.query(
        f"""{RUN_TREE}
        SELECT count(*) AS n FROM llm_calls c JOIN tree t ON t.run_id = c.run_id
        JOIN runs root ON root.run_id = t.root_id WHERE {SERVED_CALL}"""
    )
    total = sum((r["cost_usd"] or 0.0) for r in rows)
    unpriced = sum(r["unpriced_calls"] for r in rows)
    no_usage = sum(r["no_usage_calls"] for r in rows)
    unknown_models = sorted({m for r in rows for m in (r["unpriced_models"] or []) if m})
    if args.json:
        print_json(
            {
                "by": args.by,
                "total_cost_usd": total,
                "unpriced_calls": unpriced,
                "no_usage_calls": no_usage,
                "unpriced_models": unknown_models,
                "replayed_calls": served["n"],
                "groups": rows,
            }
        )
        return 0
    if not rows:
        print(
            f"Only replays: {counted(served['n'], 'model call')} answered from recordings, which cost nothing."
            if served["n"]
            else "No LLM calls recorded yet. Try `teamtape demo`."
        )
        return 0
    print_table(
        ["day (UTC)" if args.by == "day" else args.by, "llm calls", "tokens in/out", "cached in", "cost"],
        [
            [
                r["key"],
                r["llm_calls"],
                fmt_tokens(r["input_tokens"], r["output_tokens"]),
                f"{r['cache_read_tokens'] or 0:,}",
                fmt_cost(r["cost_usd"], r["unpriced_calls"]),
            ]
            for r in rows
        ],
    )
    print(f"total: {fmt_cost(total, unpriced)}")
    if served["n"]:
        print(f"{counted(served['n'], 'model call')} answered from recordings (replays) are not counted.")
    if unpriced - no_usage:
        print(
            f"{unpriced - no_usage} call(s) have no known price (models: {', '.join(unknown_models) or 'unnamed'}); "
            f"they are not counted. Add prices in {store.layout.prices} (see README: Costs)."
        )
    if no_usage:
        print(
            f"{counted(no_usage, 'streamed call')} reported no token usage, so their cost is unknown; they are "
            "not counted. Ask the provider for it: OpenAIChatCompletionClient(..., "
            'stream_options={"include_usage": True}).'
        )
    return 0


def sql_command(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        columns, rows = store.user_sql(args.query)
    except QueryError as e:
        raise QueryError(
            f"{e}\nteamtape sql is read-only; tables: runs, messages, llm_calls, tool_calls, handoffs, "
            "memory_queries, speaker_selections, events, blobs."
        ) from None
    if args.json:
        print_json({"columns": columns, "rows": [dict(zip(columns, row)) for row in rows]})
    else:
        print_table(columns, rows)
    return 0
