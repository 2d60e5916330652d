SELECT CASE WHEN price_source = 'no-usage' THEN model || ' (stream without usage: set include_usage)'
            ELSE model END AS model,
       provider, count(*) AS llm_calls, sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens, max(ts) AS last_call
FROM llm_call_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
  AND ('__all__' IN ($model) OR model IN ($model))
  AND cost_usd IS NULL
GROUP BY ALL
ORDER BY llm_calls DESC, model
