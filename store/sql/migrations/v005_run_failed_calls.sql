-- teamtape store schema, version 5. `runs.failed_calls` counts the run's own model and tool calls that
-- failed (a tool that raised, an HTTP 500 after the SDK's retries). An `ok` run may have some: AutoGen
-- hands a tool's error back to the model and the team goes on. A call cancelled with its run is not
-- counted (its error has no message). Runs folded before this version are counted from the projections.
ALTER TABLE runs ADD COLUMN failed_calls BIGINT DEFAULT 0;
UPDATE runs SET failed_calls = t.n
FROM (
    SELECT run_id, count(*) AS n FROM (
        SELECT run_id FROM tool_calls WHERE is_error
        UNION ALL
        SELECT run_id FROM llm_calls WHERE error <> ''
    ) GROUP BY run_id
) t
WHERE runs.run_id = t.run_id;
