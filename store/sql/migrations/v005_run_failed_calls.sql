-- teamtape store schema, version 5. `runs.failed_calls` counts the run's own model and tool calls that
-- failed (a tool that raised, an HTTP 500 after the SDK's retries). An `ok` run may have some: AutoGen
-- hands a tool's error back to the model and the team goes on. A call cancelled with its run did not
-- fail. Runs folded before this version are counted from their calls' events.
ALTER TABLE runs ADD COLUMN failed_calls BIGINT DEFAULT 0;
UPDATE runs SET failed_calls = t.n
FROM (
    SELECT e.run_id, count(*) AS n
    FROM events e
    WHERE ((e.kind = 'tool_call' AND (e.payload->>'$.is_error') = 'true')
           OR (e.kind = 'llm_call' AND coalesce(e.payload->>'$.error', 'null') <> 'null'))
      AND (e.payload->>'$.error.type') IS DISTINCT FROM 'CancelledError'
    GROUP BY e.run_id
) t
WHERE runs.run_id = t.run_id;
