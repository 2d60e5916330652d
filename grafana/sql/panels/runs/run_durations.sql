SELECT team, count(*) AS runs, quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
       max(duration_ms) AS max_ms, sum(messages) AS messages
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
GROUP BY team
ORDER BY runs DESC, team
