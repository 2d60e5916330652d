-- The staged llm_call events with their payloads parsed once (pricing, llm_calls and runs read it).
CREATE OR REPLACE TEMP TABLE new_llm AS
SELECT e.event_id, e.run_id, e.seq, e.ts, e.agent,
       from_json(e.payload, '{"call_id": "VARCHAR", "model": "VARCHAR", "provider": "VARCHAR",
                              "started_ts": "DOUBLE", "duration_ms": "DOUBLE", "ttft_ms": "DOUBLE",
                              "streamed": "BOOLEAN", "cached": "BOOLEAN",
                              "usage": {"input_tokens": "BIGINT", "output_tokens": "BIGINT",
                                        "cache_read_tokens": "BIGINT"},
                              "response": "JSON", "request": "JSON", "retries": "JSON",
                              "error": {"type": "VARCHAR", "message": "VARCHAR"}}') AS p
FROM new_events e
WHERE e.kind = 'llm_call';
