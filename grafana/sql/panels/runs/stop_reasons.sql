SELECT coalesce(stop_reason, '(' || status || ')') AS stop_reason, count(*) AS runs
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
GROUP BY 1
ORDER BY runs DESC, 1
