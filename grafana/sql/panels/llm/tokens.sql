SELECT time_bucket(INTERVAL '$__interval', ts) AS time,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_tokens) AS cache_read_tokens
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
GROUP BY 1
ORDER BY 1
