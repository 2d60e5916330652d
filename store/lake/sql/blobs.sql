-- Content stored once by hash; partitioned by the date of the first event that carried it.
SELECT b.*, CAST(coalesce(f.first_ts, x.exported_at) AS DATE) AS date
FROM blobs b
LEFT JOIN (
    SELECT payload->>'$.hash' AS hash, min(ts) AS first_ts
    FROM events WHERE kind = 'blob' GROUP BY 1
) f USING (hash), lake_export x
