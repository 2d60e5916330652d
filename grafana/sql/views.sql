-- teamtape lake views: what the Grafana DuckDB datasource runs once per connection (its initSql,
-- after `SET VARIABLE teamtape_lake = '<lake root>'`). Readers never lock anything: the lake is
-- plain Parquet, written part by part by `teamtape export parquet`.
CREATE OR REPLACE VIEW events AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/events/**/*.parquet', hive_partitioning = true, union_by_name = true);
-- runs holds snapshots of a changing row: keep the latest one of each run.
CREATE OR REPLACE VIEW runs AS
SELECT * EXCLUDE (snapshot_hash, exported_at)
FROM read_parquet(getvariable('teamtape_lake') || '/runs/**/*.parquet', hive_partitioning = true, union_by_name = true)
QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY exported_at DESC) = 1;
CREATE OR REPLACE VIEW messages AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/messages/**/*.parquet', hive_partitioning = true, union_by_name = true);
CREATE OR REPLACE VIEW llm_calls AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/llm_calls/**/*.parquet', hive_partitioning = true, union_by_name = true);
CREATE OR REPLACE VIEW tool_calls AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/tool_calls/**/*.parquet', hive_partitioning = true, union_by_name = true);
CREATE OR REPLACE VIEW handoffs AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/handoffs/**/*.parquet', hive_partitioning = true, union_by_name = true);
CREATE OR REPLACE VIEW memory_queries AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/memory_queries/**/*.parquet', hive_partitioning = true, union_by_name = true);
CREATE OR REPLACE VIEW speaker_selections AS
SELECT * FROM read_parquet(getvariable('teamtape_lake') || '/speaker_selections/**/*.parquet', hive_partitioning = true, union_by_name = true);
CREATE OR REPLACE VIEW blobs AS
SELECT DISTINCT ON (hash) * FROM read_parquet(getvariable('teamtape_lake') || '/blobs/**/*.parquet', hive_partitioning = true, union_by_name = true);
-- Every run with its root run and team (the root run's name, else its team type), as
-- `teamtape cost --by team` groups them.
CREATE OR REPLACE VIEW run_facts AS
WITH RECURSIVE up(run_id, root_id, depth) AS (
    SELECT run_id, run_id, 0 FROM runs
    UNION ALL
    SELECT up.run_id, r.parent_run_id, up.depth + 1
    FROM up JOIN runs r ON r.run_id = up.root_id
    WHERE r.parent_run_id IS NOT NULL AND up.depth < 64
), roots AS (
    SELECT run_id, arg_max(root_id, depth) AS root_id FROM up GROUP BY run_id
)
SELECT r.*, roots.root_id AS root_run_id, r.parent_run_id IS NULL AS is_root,
       coalesce(root.name, root.team_type, '(unknown team)') AS team
FROM runs r JOIN roots USING (run_id) LEFT JOIN runs root ON root.run_id = roots.root_id;
-- LLM and tool calls with the names the dashboards filter on (the same as `teamtape cost --by`).
-- Model calls a replay answered from a recording (provider 'replay') are left out, as `teamtape cost`
-- leaves them out: they cost nothing and repeat calls already counted.
CREATE OR REPLACE VIEW llm_call_facts AS
SELECT c.* REPLACE (coalesce(c.agent, '(no agent)') AS agent, coalesce(c.model, '(unknown model)') AS model),
       f.team, f.root_run_id
FROM llm_calls c LEFT JOIN run_facts f USING (run_id)
WHERE c.provider IS DISTINCT FROM 'replay';
CREATE OR REPLACE VIEW tool_call_facts AS
SELECT t.* REPLACE (coalesce(t.agent, '(no agent)') AS agent), f.team, f.root_run_id
FROM tool_calls t LEFT JOIN run_facts f USING (run_id);
CREATE OR REPLACE VIEW message_facts AS
SELECT m.*, coalesce(m.source, '(no agent)') AS agent, f.team, f.root_run_id
FROM messages m LEFT JOIN run_facts f USING (run_id);
