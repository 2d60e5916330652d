SELECT time_bucket(INTERVAL '$__interval', started_at) AS time, status, count(*) AS runs
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
GROUP BY 1, 2
ORDER BY 1, 2
