-- One row per export request. The partial unique index is the cross-instance rule
-- "at most one queued or running export per consumer".
CREATE TABLE export_jobs (
    id               UUID         PRIMARY KEY,
    consumer_id      VARCHAR(128) NOT NULL,
    export_type      VARCHAR(16)  NOT NULL CHECK (export_type IN ('full', 'incremental', 'delta')),
    status           VARCHAR(16)  NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    output_filename  VARCHAR(255) NOT NULL,
    rows_exported    BIGINT       NOT NULL DEFAULT 0,
    base_snapshot    TEXT,
    snapshot         TEXT,
    instance_id      VARCHAR(255) NOT NULL,
    heartbeat_at     TIMESTAMPTZ  NOT NULL,
    created_at       TIMESTAMPTZ  NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    error            TEXT,
    CONSTRAINT export_jobs_output_filename_key UNIQUE (output_filename)
);

CREATE UNIQUE INDEX export_jobs_one_active_per_consumer
    ON export_jobs (consumer_id) WHERE status IN ('queued', 'running');

CREATE INDEX export_jobs_consumer_created ON export_jobs (consumer_id, created_at DESC);
CREATE INDEX export_jobs_active_heartbeat ON export_jobs (heartbeat_at) WHERE status IN ('queued', 'running');
