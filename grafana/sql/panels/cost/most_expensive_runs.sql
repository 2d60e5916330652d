SELECT run_id, team, status, started_at, llm_calls, input_tokens, output_tokens, cost_usd, unpriced_calls,
       'teamtape show ' || run_id AS show_command,
       'teamtape replay ' || run_id AS replay_command
FROM run_facts
WHERE is_root AND $__timeFilter(started_at)
  AND ('__all__' IN ($team) OR team IN ($team))
ORDER BY cost_usd DESC NULLS LAST, started_at DESC
LIMIT 20
