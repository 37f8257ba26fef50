-- Everything the service keeps for itself lives in its own schema (CDC_SCHEMA, default cdc), the only schema Flyway
-- manages. The user's tables are never altered: capture is a set of triggers writing into change_log here.
-- Design: docs/capture.md.

CREATE TABLE consumers (
    id          VARCHAR(128) PRIMARY KEY,
    created_at  TIMESTAMPTZ  NOT NULL
);

-- A key is shown once, at creation; the database keeps only its SHA-256. Keys are 256 random bits, so a fast hash
-- is enough: nothing can be guessed offline from it.
CREATE TABLE api_keys (
    id           VARCHAR(32)  PRIMARY KEY,
    consumer_id  VARCHAR(128) NOT NULL REFERENCES consumers (id) ON DELETE CASCADE,
    secret_hash  BYTEA        NOT NULL UNIQUE,
    -- 'api' (POST /consumers, key rotation) or 'environment' (CONSUMER_API_KEYS, reconciled at start-up).
    origin       VARCHAR(16)  NOT NULL CHECK (origin IN ('api', 'environment')),
    created_at   TIMESTAMPTZ  NOT NULL,
    -- Set by a rotation: the old key keeps working until then, so clients can switch without downtime.
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_consumer ON api_keys (consumer_id, created_at);

-- One row per export request, and the durable queue: instances claim queued jobs with FOR UPDATE SKIP LOCKED.
-- attempts numbers the claims; every transition of a running job names its attempt, so a stale runner can never
-- commit. The partial unique index is the cross-instance rule "at most one queued or running export per consumer".
CREATE TABLE export_jobs (
    id               UUID         PRIMARY KEY,
    consumer_id      VARCHAR(128) NOT NULL,
    export_type      VARCHAR(16)  NOT NULL CHECK (export_type IN ('full', 'incremental', 'delta')),
    status           VARCHAR(16)  NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    -- The first table's file; every file of the export is in files.
    output_filename  VARCHAR(255) NOT NULL,
    -- Qualified names (schema.table) of the tables the export reads, in one snapshot.
    tables           TEXT[]       NOT NULL DEFAULT ARRAY['public.users'],
    -- [{"table", "filename", "rows"}], one per table, in the order of tables.
    files            JSONB,
    rows_exported    BIGINT       NOT NULL DEFAULT 0,
    total_rows       BIGINT,
    snapshot         TEXT,
    instance_id      VARCHAR(255) NOT NULL,
    heartbeat_at     TIMESTAMPTZ  NOT NULL,
    created_at       TIMESTAMPTZ  NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    error            TEXT,
    attempts         INT          NOT NULL DEFAULT 0,
    CONSTRAINT export_jobs_output_filename_key UNIQUE (output_filename)
);
CREATE UNIQUE INDEX export_jobs_one_active_per_consumer
    ON export_jobs (consumer_id) WHERE status IN ('queued', 'running');
CREATE INDEX export_jobs_consumer_created ON export_jobs (consumer_id, created_at DESC);
CREATE INDEX export_jobs_active_heartbeat ON export_jobs (heartbeat_at) WHERE status IN ('queued', 'running');
CREATE INDEX export_jobs_queued ON export_jobs (created_at, id) WHERE status = 'queued';
CREATE INDEX export_jobs_created ON export_jobs (created_at DESC, id DESC);

-- The tables whose changes are captured (EXPORT_TABLES), by OID: what the triggers record as table_oid.
CREATE TABLE captured_tables (
    relid             OID          PRIMARY KEY,
    schema_name       TEXT         NOT NULL,
    table_name        TEXT         NOT NULL,
    -- Primary-key columns by attnum when capture was installed: a different key later means old change
    -- entries name rows by another key, so consumers must re-sync (see ChangeCapture).
    key_attnums       INT2[]       NOT NULL,
    -- The demo's users table, created (and seeded) by the service itself.
    created_by_service BOOLEAN     NOT NULL DEFAULT FALSE,
    installed_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    UNIQUE (schema_name, table_name)
);

-- One entry per changed row (I, U, D) or truncated table (T). key is the row's primary key as a JSON array in key
-- order; old_row the last values of a deleted row. change_xid is the writing transaction: an export's window is
-- "visible in its snapshot S, not in the consumer's previous snapshot P", so commit order decides, not clocks.
CREATE TABLE change_log (
    table_oid   OID          NOT NULL,
    change_xid  XID8         NOT NULL DEFAULT pg_current_xact_id(),
    -- Orders the entries of one transaction (a session takes its values in increasing order; the cache spares
    -- a sequence update per row, and gaps mean nothing here).
    seq         BIGINT       GENERATED ALWAYS AS IDENTITY (CACHE 1000),
    op          "char"       NOT NULL CHECK (op IN ('I', 'U', 'D', 'T')),
    key         JSONB        NOT NULL,
    old_row     JSONB,
    changed_at  TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX change_log_window ON change_log (table_oid, change_xid);

-- Per consumer and table: the snapshot of its last successful export of that table, and (informational, never
-- decreasing) the greatest updated_at sent, or the export's time for tables without updated_at.
CREATE TABLE watermarks (
    id                SERIAL       PRIMARY KEY,
    consumer_id       VARCHAR(255) NOT NULL,
    table_name        TEXT         NOT NULL,
    last_exported_at  TIMESTAMPTZ  NOT NULL,
    updated_at        TIMESTAMPTZ  NOT NULL,
    snapshot          PG_SNAPSHOT  NOT NULL,
    CONSTRAINT watermarks_consumer_table UNIQUE (consumer_id, table_name)
);

-- What a consumer may see of a table (set by the admin): some columns (null: all) and rows matching a filter
-- (null: all). The filter is stored structured and rendered with quoted identifiers and literals, never as SQL.
CREATE TABLE consumer_tables (
    consumer_id  VARCHAR(128) NOT NULL,
    table_name   TEXT         NOT NULL,
    columns      TEXT[],
    row_filter   JSONB,
    updated_at   TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (consumer_id, table_name)
);
