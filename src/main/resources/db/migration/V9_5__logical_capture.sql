-- Log-based capture (CAPTURE_MODE=logical): the same change_log entries, written by a decoder that reads the WAL
-- through a replication slot instead of by triggers. Design: docs/capture.md, "Log-based capture".

-- How each table is captured now. A table's changes are logged by the decoder exactly for the source transactions
-- whose commit LSN lies in (logical_from, logical_until): the boundaries recorded by the transaction that switched
-- the table's mode under a lock no writer of the table can hold at the same time, so every source transaction is
-- logged by exactly one of the two writers.
ALTER TABLE captured_tables
    ADD COLUMN capture_mode  TEXT   NOT NULL DEFAULT 'trigger' CHECK (capture_mode IN ('trigger', 'logical')),
    ADD COLUMN logical_from  PG_LSN,
    ADD COLUMN logical_until PG_LSN;

-- The decoder's progress, one row per slot. applied_lsn moves in the transaction that writes a batch's entries, so
-- a batch redelivered by the slot after a crash (the slot is confirmed only after that commit) is recognised and
-- skipped. Exports wait for applied_lsn to pass the marker they write into the WAL after taking their snapshot.
CREATE TABLE logical_capture (
    slot_name     TEXT         PRIMARY KEY,
    publication   TEXT         NOT NULL,
    applied_lsn   PG_LSN       NOT NULL,
    applied_at    TIMESTAMPTZ  NOT NULL,
    -- Commit time of the last source transaction applied: the lag in seconds is measured from it.
    source_commit_at TIMESTAMPTZ,
    -- The instance that decodes now (informational: leadership is the advisory lock).
    leader        VARCHAR(255)
);

-- Stops capturing a table in either mode: triggers, publication membership, entries. The slot and the publication
-- go with the last logically captured table (a slot left behind would make the server keep WAL for ever).
CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.uninstall_capture(target REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    prefix TEXT := '${flyway:defaultSchema}_capture_';
    operation TEXT;
    slot RECORD;
BEGIN
    FOREACH operation IN ARRAY ARRAY['insert', 'update', 'key_change', 'delete', 'truncate'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', prefix || operation, target);
    END LOOP;
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', '${flyway:defaultSchema}_users_created', target);
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', '${flyway:defaultSchema}_users_touched', target);
    FOR slot IN SELECT l.slot_name, l.publication FROM ${flyway:defaultSchema}.logical_capture l LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
                    WHERE p.pubname = slot.publication AND r.prrelid = target) THEN
            EXECUTE format('ALTER PUBLICATION %I DROP TABLE %s', slot.publication, target);
        END IF;
    END LOOP;
    DELETE FROM ${flyway:defaultSchema}.change_log WHERE table_oid = target;
    DELETE FROM ${flyway:defaultSchema}.captured_tables WHERE relid = target;
    IF NOT EXISTS (SELECT 1 FROM ${flyway:defaultSchema}.captured_tables WHERE capture_mode = 'logical') THEN
        FOR slot IN SELECT l.slot_name, l.publication FROM ${flyway:defaultSchema}.logical_capture l LOOP
            IF EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = slot.slot_name) THEN
                PERFORM pg_catalog.pg_drop_replication_slot(slot.slot_name);
            END IF;
            EXECUTE format('DROP PUBLICATION IF EXISTS %I', slot.publication);
        END LOOP;
        DELETE FROM ${flyway:defaultSchema}.logical_capture;
    END IF;
END
$$;
