SELECT agent, count(*) AS messages
FROM message_facts
WHERE $__timeFilter(ts)
  AND ('__all__' IN ($team) OR team IN ($team))
  AND ('__all__' IN ($agent) OR agent IN ($agent))
GROUP BY agent
ORDER BY messages DESC, agent
