-- teamtape store schema, version 2: which teamtape brought the store to each schema version, so that
-- an older teamtape refusing a newer store can say which teamtape to use instead.
CREATE TABLE IF NOT EXISTS schema_writers (
    version          INTEGER NOT NULL,
    teamtape_version VARCHAR,
    applied_at       TIMESTAMP
);
