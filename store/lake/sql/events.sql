-- The raw event log, the lake's source of truth (`teamtape import` reads only this table).
SELECT e.event_id, e.run_id, e.seq, e.ts, e.kind, e.agent, e.payload, e.schema_version,
       CAST(e.ts AS DATE) AS date
FROM events e
