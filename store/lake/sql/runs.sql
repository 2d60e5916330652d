-- `runs` changes while a run records: the lake keeps snapshots. A snapshot is written whenever the
-- row differs from every snapshot already in the lake (`snapshot_hash`); readers keep the latest
-- per run_id (`exported_at`). Partitioned by the run's start date, which never changes.
SELECT r.*,
       md5(CAST(r AS VARCHAR)) AS snapshot_hash,
       x.exported_at,
       CAST(coalesce(r.started_at, x.exported_at) AS DATE) AS date
FROM runs r, lake_export x
