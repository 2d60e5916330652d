SELECT model, count(*) AS llm_calls,
       quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
       quantile_cont(ttft_ms, 0.5) AS ttft_p50_ms, quantile_cont(ttft_ms, 0.95) AS ttft_p95_ms,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_tokens) AS cache_read_tokens,
       count(*) FILTER (WHERE error IS NOT NULL) AS errors
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
GROUP BY model
ORDER BY llm_calls DESC, model
