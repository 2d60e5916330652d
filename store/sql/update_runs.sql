-- Folds the staged `new_events` into `runs` incrementally: one delta row per run, merged into the
-- existing row. Counters add up; facts from run_started / run_ended / run_crashed replace.

INSERT INTO runs (run_id, parent_run_id, session_id, replay_of, fork_of, name, team_type, task,
                  participants, labels, status, stop_reason, error, started_at, ended_at, duration_ms,
                  messages, llm_calls, tool_calls, input_tokens, output_tokens, cache_read_tokens,
                  own_cost_usd, cost_usd, unpriced_calls, events, journal, failed_calls)
WITH started AS (
    SELECT run_id, min(ts) AS ts,
           arg_min(from_json(payload, '{"parent_run_id": "VARCHAR", "session_id": "VARCHAR",
                                        "replay_of": "VARCHAR", "fork_of": "VARCHAR", "name": "VARCHAR",
                                        "team_type": "VARCHAR", "task": "VARCHAR", "participants": ["VARCHAR"],
                                        "labels": "JSON", "journal": "VARCHAR"}'), seq) AS p
    FROM new_events WHERE kind = 'run_started' GROUP BY run_id
), ended AS (
    SELECT run_id, max(ts) AS ts, arg_max(kind, seq) AS kind,
           arg_max(from_json(payload, '{"status": "VARCHAR", "stop_reason": "VARCHAR", "duration_ms": "DOUBLE",
                                        "last_event_ts": "DOUBLE", "last_alive_ts": "DOUBLE",
                                        "reason": "VARCHAR",
                                        "error": {"type": "VARCHAR", "message": "VARCHAR"}}'), seq) AS p
    FROM new_events WHERE kind IN ('run_ended', 'run_crashed') GROUP BY run_id
), calls AS (
    SELECT l.run_id,
           count(*) AS n,
           sum(l.p.usage.input_tokens) AS input_tokens,
           sum(l.p.usage.output_tokens) AS output_tokens,
           sum(l.p.usage.cache_read_tokens) AS cache_read_tokens,
           -- Costs are summed exactly and rounded to 1e-12 USD, so totals do not depend on the
           -- order rows are added in (a re-import folds in one go what was folded piecewise).
           round(sum(CAST(c.cost_usd AS DECIMAL(38, 18))), 12)::DOUBLE AS cost,
           count(*) FILTER (WHERE c.cost_usd IS NULL) AS unpriced,
           -- A call cancelled with its run did not fail.
           count(*) FILTER (WHERE l.p.error IS NOT NULL AND l.p.error.type IS DISTINCT FROM 'CancelledError') AS failed
    FROM new_llm l LEFT JOIN new_costs c USING (event_id)
    GROUP BY l.run_id
), counts AS (
    SELECT run_id,
           count(*) AS events,
           count(*) FILTER (WHERE kind = 'message') AS messages,
           count(*) FILTER (WHERE kind = 'tool_call') AS tool_calls,
           sum(CASE WHEN kind = 'tool_call' AND (payload->>'$.is_error') = 'true'
                         AND (payload->>'$.error.type') IS DISTINCT FROM 'CancelledError' THEN 1 ELSE 0 END) AS failed_tools
    FROM new_events GROUP BY run_id
)
SELECT k.run_id,
       s.p.parent_run_id, s.p.session_id, s.p.replay_of, s.p.fork_of, s.p.name, s.p.team_type, s.p.task,
       s.p.participants, s.p.labels,
       CASE WHEN d.kind = 'run_crashed' THEN 'crashed'
            WHEN d.kind = 'run_ended' THEN coalesce(d.p.status, 'ok')
            WHEN s.run_id IS NOT NULL THEN 'running' END,
       coalesce(d.p.stop_reason, d.p.reason),  -- a crash's reason: why it has no stop reason
       CASE WHEN d.p.error.type IS NULL THEN d.p.error.message
            WHEN coalesce(d.p.error.message, '') = '' THEN d.p.error.type  -- a cancellation has no message
            ELSE concat(d.p.error.type, ': ', d.p.error.message) END,
       s.ts,
       -- A crashed run ended when its process was last known alive (else at its last event).
       CASE WHEN d.kind = 'run_crashed' AND coalesce(d.p.last_alive_ts, d.p.last_event_ts) IS NOT NULL
            THEN make_timestamp(CAST(coalesce(d.p.last_alive_ts, d.p.last_event_ts) * 1000000 AS BIGINT))
            ELSE d.ts END,
       CASE WHEN d.kind = 'run_ended' THEN d.p.duration_ms END,
       k.messages, coalesce(c.n, 0), k.tool_calls,
       coalesce(c.input_tokens, 0), coalesce(c.output_tokens, 0), coalesce(c.cache_read_tokens, 0),
       c.cost, NULL, coalesce(c.unpriced, 0), k.events,
       s.p.journal, coalesce(k.failed_tools, 0) + coalesce(c.failed, 0)
FROM counts k
LEFT JOIN started s USING (run_id)
LEFT JOIN ended d USING (run_id)
LEFT JOIN calls c USING (run_id)
ON CONFLICT (run_id) DO UPDATE SET
    parent_run_id = coalesce(excluded.parent_run_id, runs.parent_run_id),
    session_id    = coalesce(excluded.session_id, runs.session_id),
    replay_of     = coalesce(excluded.replay_of, runs.replay_of),
    fork_of       = coalesce(excluded.fork_of, runs.fork_of),
    name          = coalesce(excluded.name, runs.name),
    team_type     = coalesce(excluded.team_type, runs.team_type),
    task          = coalesce(excluded.task, runs.task),
    participants  = coalesce(excluded.participants, runs.participants),
    labels        = coalesce(excluded.labels, runs.labels),
    status        = CASE WHEN runs.status IN ('ok', 'error', 'cancelled', 'crashed')
                              AND excluded.status = 'running' THEN runs.status
                         ELSE coalesce(excluded.status, runs.status) END,
    stop_reason   = coalesce(excluded.stop_reason, runs.stop_reason),
    error         = coalesce(excluded.error, runs.error),
    started_at    = coalesce(runs.started_at, excluded.started_at),
    ended_at      = coalesce(excluded.ended_at, runs.ended_at),
    duration_ms   = coalesce(excluded.duration_ms, runs.duration_ms),
    messages      = runs.messages + excluded.messages,
    llm_calls     = runs.llm_calls + excluded.llm_calls,
    tool_calls    = runs.tool_calls + excluded.tool_calls,
    input_tokens  = runs.input_tokens + excluded.input_tokens,
    output_tokens = runs.output_tokens + excluded.output_tokens,
    cache_read_tokens = runs.cache_read_tokens + excluded.cache_read_tokens,
    own_cost_usd  = CASE WHEN runs.own_cost_usd IS NULL THEN excluded.own_cost_usd
                         WHEN excluded.own_cost_usd IS NULL THEN runs.own_cost_usd
                         ELSE round(runs.own_cost_usd + excluded.own_cost_usd, 12) END,
    unpriced_calls = runs.unpriced_calls + excluded.unpriced_calls,
    events        = runs.events + excluded.events,
    failed_calls  = runs.failed_calls + excluded.failed_calls,
    journal       = coalesce(excluded.journal, runs.journal);

-- Duration of crashed runs: from start to when their process was last known alive.
UPDATE runs SET duration_ms = date_diff('microsecond', started_at, ended_at) / 1000.0
WHERE status = 'crashed' AND duration_ms IS NULL AND run_id IN (SELECT DISTINCT run_id FROM new_events);

-- Roll costs up the run tree: a parent's cost includes its children's, and its count of model calls
-- with no known price (the "+?" after a cost) includes theirs too. Recomputed for the runs
-- touched by this fold and all their ancestors.
CREATE OR REPLACE TEMP TABLE affected AS
WITH RECURSIVE up(run_id, depth) AS (
    SELECT DISTINCT run_id, 0 FROM new_events
    UNION ALL
    SELECT r.parent_run_id, up.depth + 1 FROM up JOIN runs r ON r.run_id = up.run_id
    WHERE r.parent_run_id IS NOT NULL AND up.depth < 64
)
SELECT DISTINCT run_id FROM up;

UPDATE runs SET cost_usd = t.cost, unpriced_calls = t.unpriced
FROM (
    WITH RECURSIVE down(root, run_id, depth) AS (
        SELECT run_id, run_id, 0 FROM affected
        UNION ALL
        SELECT down.root, r.run_id, down.depth + 1 FROM down JOIN runs r ON r.parent_run_id = down.run_id
        WHERE down.depth < 64
    )
    SELECT root,
           CASE WHEN count(r.own_cost_usd) = 0 AND sum(r.llm_calls) > 0 THEN NULL
                ELSE coalesce(round(sum(CAST(r.own_cost_usd AS DECIMAL(38, 18))), 12)::DOUBLE, 0) END AS cost,
           coalesce(sum(u.n), 0) AS unpriced
    FROM down JOIN runs r ON r.run_id = down.run_id
    LEFT JOIN (
        SELECT run_id, count(*) AS n FROM llm_calls
        WHERE cost_usd IS NULL AND run_id IN (SELECT run_id FROM down)
        GROUP BY run_id
    ) u ON u.run_id = down.run_id
    GROUP BY root
) t
WHERE runs.run_id = t.root;
