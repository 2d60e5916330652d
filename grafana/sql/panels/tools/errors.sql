SELECT ts, tool, agent, run_id, left(result, 300) AS result, 'teamtape show ' || run_id AS show_command
FROM tool_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND is_error
ORDER BY ts DESC
LIMIT 50
