SELECT tool, tool_kind, count(*) AS tool_calls, count(*) FILTER (WHERE is_error) AS errors,
       avg(CASE WHEN is_error THEN 1.0 ELSE 0.0 END) AS error_rate,
       quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms
FROM tool_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
GROUP BY ALL
ORDER BY tool_calls DESC, tool
