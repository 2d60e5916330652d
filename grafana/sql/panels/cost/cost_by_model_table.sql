SELECT model, count(*) AS llm_calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_tokens) AS cache_read_tokens, sum(cost_usd) AS cost_usd,
       coalesce(sum(cost_without_cache_usd - cost_usd), 0) AS saved_usd,
       count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_calls
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
GROUP BY model
ORDER BY cost_usd DESC NULLS LAST, model
