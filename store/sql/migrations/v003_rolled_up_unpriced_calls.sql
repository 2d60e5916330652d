-- teamtape store schema, version 3. `runs.unpriced_calls` counts the model calls with no known price in
-- the run and its nested runs, as `cost_usd` adds up their costs (before, a parent whose nested run
-- called an unpriced model showed its cost as if it were complete). No column changes: the counts of
-- runs already folded are recomputed here, and `update_runs.sql` keeps them so from now on.
UPDATE runs SET unpriced_calls = t.n
FROM (
    WITH RECURSIVE down(root, run_id, depth) AS (
        SELECT run_id, run_id, 0 FROM runs
        UNION ALL
        SELECT down.root, r.run_id, down.depth + 1 FROM down JOIN runs r ON r.parent_run_id = down.run_id
        WHERE down.depth < 64
    )
    SELECT d.root, count(l.run_id) AS n
    FROM down d LEFT JOIN llm_calls l ON l.run_id = d.run_id AND l.cost_usd IS NULL
    GROUP BY d.root
) t
WHERE runs.run_id = t.root;

-- Calls whose token usage was not reported (a stream without include_usage) are told apart from calls
-- to a model with no known price: adding a price would not give them a cost.
UPDATE llm_calls SET price_source = 'no-usage'
WHERE cost_usd IS NULL AND price_source IS NULL AND input_tokens IS NULL AND output_tokens IS NULL;

-- A crashed run's reason is its stop reason (runs lists show it), for runs folded before too.
UPDATE runs SET stop_reason = 'the recording process ended without finishing this run'
WHERE status = 'crashed' AND stop_reason IS NULL;
