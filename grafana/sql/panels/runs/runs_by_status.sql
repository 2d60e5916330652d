SELECT status, count(*) AS runs
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
GROUP BY status
ORDER BY runs DESC, status
