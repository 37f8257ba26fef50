-- Snapshot-window change capture (shared/design/cdc-correctness.md).
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
