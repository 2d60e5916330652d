-- Projects the events staged in `new_events` (plus prices in `new_costs`) into the projection
-- tables. Run once per fold, after the staged events were appended to `events`.

INSERT INTO blobs
SELECT DISTINCT ON (payload->>'$.hash')
       payload->>'$.hash', payload->>'$.media_type', payload->'$.data'
FROM new_events
WHERE kind = 'blob' AND payload->>'$.hash' IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO messages
SELECT run_id, seq, ts,
       coalesce(payload->>'$.source', agent),
       payload->>'$.type',
       payload->>'$.text',
       payload->>'$.target',
       payload->>'$.id',
       TRY_CAST(payload->>'$.models_usage.prompt_tokens' AS BIGINT),
       TRY_CAST(payload->>'$.models_usage.completion_tokens' AS BIGINT),
       event_id
FROM new_events WHERE kind = 'message';

INSERT INTO handoffs
SELECT run_id, seq, ts, coalesce(payload->>'$.source', agent), payload->>'$.target', payload->>'$.text'
FROM new_events WHERE kind = 'message' AND payload->>'$.type' = 'HandoffMessage';

INSERT INTO llm_calls
SELECT e.run_id,
       payload->>'$.call_id',
       e.seq, e.agent,
       payload->>'$.model',
       payload->>'$.provider',
       CASE WHEN TRY_CAST(payload->>'$.started_ts' AS DOUBLE) IS NULL THEN e.ts
            ELSE make_timestamp(CAST(TRY_CAST(payload->>'$.started_ts' AS DOUBLE) * 1000000 AS BIGINT)) END,
       TRY_CAST(payload->>'$.duration_ms' AS DOUBLE),
       TRY_CAST(payload->>'$.ttft_ms' AS DOUBLE),
       coalesce(TRY_CAST(payload->>'$.streamed' AS BOOLEAN), false),
       coalesce(TRY_CAST(payload->>'$.cached' AS BOOLEAN), false),
       TRY_CAST(payload->>'$.usage.input_tokens' AS BIGINT),
       TRY_CAST(payload->>'$.usage.output_tokens' AS BIGINT),
       TRY_CAST(payload->>'$.usage.cache_read_tokens' AS BIGINT),
       c.cost_usd,
       c.price_source,
       payload->>'$.response.finish_reason',
       payload->>'$.error.message',
       payload->'$.request',
       payload->'$.response',
       e.event_id
FROM new_events e LEFT JOIN new_costs c USING (event_id)
WHERE e.kind = 'llm_call';

INSERT INTO tool_calls
SELECT run_id, payload->>'$.call_id', seq, agent,
       payload->>'$.tool', payload->>'$.kind',
       payload->'$.arguments',
       payload->>'$.result',
       coalesce(TRY_CAST(payload->>'$.is_error' AS BOOLEAN), false),
       TRY_CAST(payload->>'$.duration_ms' AS DOUBLE),
       ts,
       payload->>'$.child_run_id',
       event_id
FROM new_events WHERE kind = 'tool_call';

INSERT INTO memory_queries
SELECT run_id, seq, ts, agent, payload->>'$.memory', payload->>'$.query', payload->'$.results',
       TRY_CAST(payload->>'$.n_results' AS BIGINT), TRY_CAST(payload->>'$.duration_ms' AS DOUBLE)
FROM new_events WHERE kind = 'memory_query';

INSERT INTO speaker_selections
SELECT run_id, seq, ts, payload->>'$.selector',
       CAST(payload->'$.selected' AS VARCHAR[]),
       TRY_CAST(payload->>'$.duration_ms' AS DOUBLE)
FROM new_events WHERE kind = 'speaker_selection';
