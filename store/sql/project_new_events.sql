-- Projects the events staged in `new_events` (llm_calls parsed in `new_llm`, priced in `new_costs`)
-- into the projection tables. Run once per fold, after the staged events were appended to `events`.
-- Each payload is parsed once, with from_json and the fields the projection needs. A message's text is
-- stored only when it differs from its content (see teamtape.store.message_text).

INSERT INTO blobs
SELECT DISTINCT ON (b.p.hash) b.p.hash, b.p.media_type, b.p.data
FROM (SELECT from_json(payload, '{"hash": "VARCHAR", "media_type": "VARCHAR", "data": "JSON"}') AS p
      FROM new_events WHERE kind = 'blob') b
WHERE b.p.hash IS NOT NULL
ON CONFLICT DO NOTHING;

CREATE OR REPLACE TEMP TABLE new_messages AS
SELECT run_id, seq, ts, agent, event_id,
       from_json(payload, '{"source": "VARCHAR", "type": "VARCHAR", "text": "VARCHAR", "content": "VARCHAR",
                            "target": "VARCHAR",
                            "id": "VARCHAR",
                            "models_usage": {"prompt_tokens": "BIGINT", "completion_tokens": "BIGINT"}}') AS p
FROM new_events WHERE kind = 'message';

INSERT INTO messages
SELECT run_id, seq, ts, coalesce(p.source, agent), p.type, coalesce(p.text, p.content), p.target, p.id,
       p.models_usage.prompt_tokens, p.models_usage.completion_tokens, event_id
FROM new_messages;

INSERT INTO handoffs
SELECT run_id, seq, ts, coalesce(p.source, agent), p.target, coalesce(p.text, p.content)
FROM new_messages WHERE p.type = 'HandoffMessage';

INSERT INTO llm_calls
SELECT l.run_id, l.p.call_id, l.seq, l.agent, l.p.model, l.p.provider,
       CASE WHEN l.p.started_ts IS NULL OR isnan(l.p.started_ts) OR abs(l.p.started_ts) > 1e11 THEN l.ts
            ELSE make_timestamp(CAST(l.p.started_ts * 1000000 AS BIGINT)) END,
       l.p.duration_ms, l.p.ttft_ms,
       coalesce(l.p.streamed, false), coalesce(l.p.cached, false),
       l.p.usage.input_tokens, l.p.usage.output_tokens, l.p.usage.cache_read_tokens,
       c.cost_usd, c.price_source,
       json_extract_string(l.p.response, '$.finish_reason'),
       l.p.error.message,
       l.p.request,
       CASE WHEN CAST(l.p.response AS VARCHAR) = 'null' THEN NULL ELSE l.p.response END,
       l.event_id,
       coalesce(json_array_length(l.p.retries), 0)
FROM new_llm l LEFT JOIN new_costs c USING (event_id);

INSERT INTO tool_calls
SELECT run_id, p.call_id, seq, agent, p.tool, p.kind, p.arguments, p.result,
       coalesce(p.is_error, false), p.duration_ms, ts, p.child_run_id, event_id
FROM (SELECT run_id, seq, agent, ts, event_id,
             from_json(payload, '{"call_id": "VARCHAR", "tool": "VARCHAR", "kind": "VARCHAR", "arguments": "JSON",
                                  "result": "VARCHAR", "is_error": "BOOLEAN", "duration_ms": "DOUBLE",
                                  "child_run_id": "VARCHAR"}') AS p
      FROM new_events WHERE kind = 'tool_call');

INSERT INTO memory_queries
SELECT run_id, seq, ts, agent, p.memory, p.query, p.results, p.n_results, p.duration_ms
FROM (SELECT run_id, seq, ts, agent,
             from_json(payload, '{"memory": "VARCHAR", "query": "VARCHAR", "results": "JSON",
                                  "n_results": "BIGINT", "duration_ms": "DOUBLE"}') AS p
      FROM new_events WHERE kind = 'memory_query');

INSERT INTO speaker_selections
SELECT run_id, seq, ts, p.selector, p.selected, p.duration_ms
FROM (SELECT run_id, seq, ts,
             from_json(payload, '{"selector": "VARCHAR", "selected": ["VARCHAR"], "duration_ms": "DOUBLE"}') AS p
      FROM new_events WHERE kind = 'speaker_selection');
