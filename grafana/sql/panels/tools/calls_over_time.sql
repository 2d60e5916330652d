SELECT time_bucket(INTERVAL '$__interval', ts) AS time, tool, count(*) AS tool_calls
FROM tool_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
GROUP BY 1, 2
ORDER BY 1, 2
