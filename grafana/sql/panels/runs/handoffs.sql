SELECT h.source, h.target, count(*) AS handoffs
FROM handoffs h JOIN run_facts f USING (run_id)
WHERE $__timeFilter(h.ts)
  AND ('__all__' IN ($team) OR f.team IN ($team))
  AND ('__all__' IN ($agent) OR h.source IN ($agent) OR h.target IN ($agent))
GROUP BY ALL
ORDER BY handoffs DESC, h.source, h.target
