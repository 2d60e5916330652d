SELECT time_bucket(INTERVAL '$__interval', ts) AS time,
       quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
GROUP BY 1
ORDER BY 1
