-- teamtape store schema, version 4. `llm_calls.retries` counts the attempts the provider's SDK made again
-- within one model call (an HTTP 429 or 500, a dropped connection; the llm_call event's `retries` says
-- after what and how long each waited). Calls folded before this version get their count from their
-- events (a recorder may have noted retries that an older teamtape folded without the column).
ALTER TABLE llm_calls ADD COLUMN retries BIGINT DEFAULT 0;
UPDATE llm_calls SET retries = coalesce(json_array_length(e.payload -> '$.retries'), 0)
FROM events e
WHERE e.event_id = llm_calls.event_id AND e.kind = 'llm_call' AND contains(CAST(e.payload AS VARCHAR), '"retries"');
