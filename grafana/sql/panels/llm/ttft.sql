SELECT time_bucket(INTERVAL '$__interval', ts) AS time,
       quantile_cont(ttft_ms, 0.5) AS ttft_p50_ms, quantile_cont(ttft_ms, 0.95) AS ttft_p95_ms
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
  AND streamed AND ttft_ms IS NOT NULL
GROUP BY 1
ORDER BY 1
