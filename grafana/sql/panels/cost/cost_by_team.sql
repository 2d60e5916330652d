SELECT time_bucket(INTERVAL '$__interval', ts) AS time, team, sum(cost_usd) AS cost_usd
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
GROUP BY 1, 2
ORDER BY 1, 2
