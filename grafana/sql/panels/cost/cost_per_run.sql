SELECT started_at AS time, cost_usd
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
ORDER BY 1
