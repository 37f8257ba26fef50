-- The schema of installations from before the service had its own schema (migrations V1 to V5 of that time),
-- applied by EarlierLayoutIT to check the upgrade. Kept as it was but for the reference to its design.
-- The seed's data model, exactly as specified (names, types, constraints, index).
CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    email       VARCHAR(255) NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ  NOT NULL,
    updated_at  TIMESTAMPTZ  NOT NULL,
    is_deleted  BOOLEAN      NOT NULL DEFAULT FALSE
);

CREATE INDEX idx_users_updated_at ON users (updated_at);

CREATE TABLE watermarks (
    id                SERIAL PRIMARY KEY,
    consumer_id       VARCHAR(255) NOT NULL UNIQUE,
    last_exported_at  TIMESTAMPTZ  NOT NULL,
    updated_at        TIMESTAMPTZ  NOT NULL
);

-- Snapshot-window change capture (the design of that time; today's is docs/capture.md).
-- Every write stamps the row with the id of the transaction that made it; an export reads, inside one
-- REPEATABLE READ snapshot S, the rows whose change is visible in S but was not visible in the consumer's
-- previous snapshot P. Commit order, not clock order, decides, so late commits and timestamp ties are safe.

ALTER TABLE users ADD COLUMN change_xid xid8;
UPDATE users SET change_xid = pg_current_xact_id();
ALTER TABLE users ALTER COLUMN change_xid SET NOT NULL;
CREATE INDEX idx_users_change_xid ON users (change_xid);

CREATE FUNCTION users_capture_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    IF TG_OP = 'INSERT' THEN
        -- Keep supplied timestamps (the seeder writes history); fill them for writers that omit them.
        NEW.created_at := COALESCE(NEW.created_at, now());
        NEW.updated_at := COALESCE(NEW.updated_at, NEW.created_at);
    ELSIF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        -- A writer that forgot updated_at still produces a visible, correctly stamped change.
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_capture_change
    BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_capture_change();

-- Hard deletes leave a tombstone with the row's last state, so delta exports can report them.
CREATE TABLE user_tombstones (
    user_id     BIGINT       NOT NULL,
    name        VARCHAR(255) NOT NULL,
    email       VARCHAR(255) NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    updated_at  TIMESTAMPTZ  NOT NULL,
    deleted_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    change_xid  xid8         NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX idx_user_tombstones_change_xid ON user_tombstones (change_xid);

CREATE FUNCTION users_capture_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_tombstones (user_id, name, email, created_at, updated_at)
    SELECT id, name, email, created_at, updated_at FROM deleted_rows;
    RETURN NULL;
END
$$;

-- Statement level with a transition table: one insert per DELETE statement, not one per row.
CREATE TRIGGER users_capture_delete
    AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_capture_delete();

-- The snapshot of the consumer's last successful export; last_exported_at stays the public, informational value.
ALTER TABLE watermarks ADD COLUMN snapshot pg_snapshot;
UPDATE watermarks SET snapshot = pg_current_snapshot();
ALTER TABLE watermarks ALTER COLUMN snapshot SET NOT NULL;

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

-- Jobs become a durable queue: any instance claims queued jobs with FOR UPDATE SKIP LOCKED, and a job whose
-- instance died is queued again. attempts numbers the claims; every transition of a running job names its
-- attempt, so a stale runner (an instance that lost its heartbeat but still runs) can never commit.
ALTER TABLE export_jobs ADD COLUMN attempts INT NOT NULL DEFAULT 0;
-- Rows the export will write, known once its snapshot is taken; progress = rows_exported / total_rows.
ALTER TABLE export_jobs ADD COLUMN total_rows BIGINT;

CREATE INDEX export_jobs_queued ON export_jobs (created_at, id) WHERE status = 'queued';
-- Newest-first listing with keyset pagination.
CREATE INDEX export_jobs_created ON export_jobs (created_at DESC, id DESC);

-- Consumers and their API keys (AUTH_MODE=api-key). A key is shown once, at creation; the database keeps only
-- its SHA-256. Keys are 256 random bits, so a fast hash is enough: nothing can be guessed offline from it.
CREATE TABLE consumers (
    id          VARCHAR(128) PRIMARY KEY,
    created_at  TIMESTAMPTZ  NOT NULL
);

CREATE TABLE api_keys (
    -- Public handle of a key (listing, revocation, audit events); never part of the secret.
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

CREATE TABLE flyway_schema_history (installed_rank INT PRIMARY KEY, version TEXT, description TEXT);
