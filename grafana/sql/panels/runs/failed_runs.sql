SELECT started_at, run_id, team, status, split_part(error, chr(10), 1) AS error, stop_reason,
       'teamtape show ' || run_id AS show_command
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND status IN ('error', 'crashed', 'cancelled')
ORDER BY started_at DESC
LIMIT 50
