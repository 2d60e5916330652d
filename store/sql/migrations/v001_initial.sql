-- teamtape store schema, version 1.
-- `events` is the append-only source of truth; every other table is a projection of it and is
-- rebuilt by `teamtape.store.Store.rebuild_projections()`.

CREATE TABLE IF NOT EXISTS events (
    event_id       VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    seq            BIGINT  NOT NULL,
    ts             TIMESTAMP NOT NULL,
    kind           VARCHAR NOT NULL,
    agent          VARCHAR,
    payload        JSON,
    schema_version INTEGER NOT NULL
);

-- How far each journal file has been folded (bytes).
CREATE TABLE IF NOT EXISTS journal_offsets (
    journal   VARCHAR PRIMARY KEY,
    offset_bytes BIGINT NOT NULL,
    folded_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS blobs (
    hash       VARCHAR PRIMARY KEY,
    media_type VARCHAR,
    data       JSON
);

CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    parent_run_id VARCHAR,
    session_id    VARCHAR,
    replay_of     VARCHAR,
    fork_of       VARCHAR,
    name          VARCHAR,
    team_type     VARCHAR,
    task          VARCHAR,
    participants  VARCHAR[],
    labels        JSON,
    status        VARCHAR,
    stop_reason   VARCHAR,
    error         VARCHAR,
    started_at    TIMESTAMP,
    ended_at      TIMESTAMP,
    duration_ms   DOUBLE,
    messages      BIGINT,
    llm_calls     BIGINT,
    tool_calls    BIGINT,
    input_tokens  BIGINT,
    output_tokens BIGINT,
    cache_read_tokens BIGINT,
    own_cost_usd  DOUBLE,
    cost_usd      DOUBLE,
    unpriced_calls BIGINT,
    events        BIGINT,
    journal       VARCHAR
);

CREATE TABLE IF NOT EXISTS messages (
    run_id  VARCHAR,
    seq     BIGINT,
    ts      TIMESTAMP,
    source  VARCHAR,
    type    VARCHAR,
    content VARCHAR,
    target  VARCHAR,
    message_id VARCHAR,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    event_id VARCHAR
);

CREATE TABLE IF NOT EXISTS llm_calls (
    run_id      VARCHAR,
    call_id     VARCHAR,
    seq         BIGINT,
    agent       VARCHAR,
    model       VARCHAR,
    provider    VARCHAR,
    ts          TIMESTAMP,
    duration_ms DOUBLE,
    ttft_ms     DOUBLE,
    streamed    BOOLEAN,
    cached      BOOLEAN,
    input_tokens      BIGINT,
    output_tokens     BIGINT,
    cache_read_tokens BIGINT,
    cost_usd    DOUBLE,
    price_source VARCHAR,
    finish_reason VARCHAR,
    error       VARCHAR,
    request     JSON,
    response    JSON,
    event_id    VARCHAR
);

CREATE TABLE IF NOT EXISTS tool_calls (
    run_id      VARCHAR,
    call_id     VARCHAR,
    seq         BIGINT,
    agent       VARCHAR,
    tool        VARCHAR,
    tool_kind   VARCHAR,
    arguments   JSON,
    result      VARCHAR,
    is_error    BOOLEAN,
    duration_ms DOUBLE,
    ts          TIMESTAMP,
    child_run_id VARCHAR,
    event_id    VARCHAR
);

CREATE TABLE IF NOT EXISTS handoffs (
    run_id  VARCHAR,
    seq     BIGINT,
    ts      TIMESTAMP,
    source  VARCHAR,
    target  VARCHAR,
    content VARCHAR
);

CREATE TABLE IF NOT EXISTS memory_queries (
    run_id    VARCHAR,
    seq       BIGINT,
    ts        TIMESTAMP,
    agent     VARCHAR,
    memory    VARCHAR,
    query     VARCHAR,
    results   JSON,
    n_results BIGINT,
    duration_ms DOUBLE
);

CREATE TABLE IF NOT EXISTS speaker_selections (
    run_id   VARCHAR,
    seq      BIGINT,
    ts       TIMESTAMP,
    selector VARCHAR,
    selected VARCHAR[],
    duration_ms DOUBLE
);
