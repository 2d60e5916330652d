-- Append-only projection: a row never changes once folded.
SELECT t.*, CAST(t.ts AS DATE) AS date
FROM memory_queries t
