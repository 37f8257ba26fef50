-- Capture triggers: statement-level, with transition tables, one INSERT ... SELECT into change_log per statement.
-- They name no column of the user's table in their text: the key columns are read from pg_index at run time, so
-- renaming, adding or dropping columns never makes a write of the user's application fail.
-- SECURITY DEFINER: the application's writer role needs no privilege on this schema.

CREATE FUNCTION ${flyway:defaultSchema}.key_names(target OID) RETURNS TEXT[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(a.attname::text ORDER BY k.ord)
      FROM pg_catalog.pg_index i
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = target AND i.indisprimary
$$;

CREATE FUNCTION ${flyway:defaultSchema}.key_of(r JSONB, names TEXT[]) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cardinality(names)
               WHEN 1 THEN jsonb_build_array(r -> names[1])
               WHEN 2 THEN jsonb_build_array(r -> names[1], r -> names[2])
               ELSE (SELECT jsonb_agg(r -> n ORDER BY o) FROM unnest(names) WITH ORDINALITY AS u(n, o))
           END
$$;

CREATE FUNCTION ${flyway:defaultSchema}.capture_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    names TEXT[] := ${flyway:defaultSchema}.key_names(TG_RELID);
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
    SELECT TG_RELID, 'I', ${flyway:defaultSchema}.key_of(to_jsonb(n), names) FROM new_rows n;
    RETURN NULL;
END
$$;

CREATE FUNCTION ${flyway:defaultSchema}.capture_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    names TEXT[] := ${flyway:defaultSchema}.key_names(TG_RELID);
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
    SELECT TG_RELID, 'U', ${flyway:defaultSchema}.key_of(to_jsonb(n), names) FROM new_rows n;
    -- An update that changed a primary key: the old key is gone, like a delete, with these last values.
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key, old_row)
    SELECT TG_RELID, 'D', o.k, o.r
      FROM (SELECT ${flyway:defaultSchema}.key_of(to_jsonb(o), names) AS k, to_jsonb(o) AS r FROM old_rows o) AS o
     WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE ${flyway:defaultSchema}.key_of(to_jsonb(n), names) = o.k);
    RETURN NULL;
END
$$;

CREATE FUNCTION ${flyway:defaultSchema}.capture_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    names TEXT[] := ${flyway:defaultSchema}.key_names(TG_RELID);
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key, old_row)
    SELECT TG_RELID, 'D', ${flyway:defaultSchema}.key_of(to_jsonb(o), names), to_jsonb(o) FROM old_rows o;
    RETURN NULL;
END
$$;

-- TRUNCATE fires no row triggers, so the rows it removed cannot be named: the marker makes every consumer whose
-- window spans it re-sync with a full export (never a silent loss).
CREATE FUNCTION ${flyway:defaultSchema}.capture_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key) VALUES (TG_RELID, 'T', '[]');
    RETURN NULL;
END
$$;

-- What the service runs at start-up for each EXPORT_TABLES entry, and what a DBA can run instead as the table's
-- owner (or a role with the TRIGGER privilege on it): SELECT cdc.install_capture('public.orders');
-- Idempotent: CREATE OR REPLACE TRIGGER.
CREATE FUNCTION ${flyway:defaultSchema}.install_capture(target REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    prefix TEXT := '${flyway:defaultSchema}_capture_';
    schema TEXT := '${flyway:defaultSchema}';
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_insert()', prefix || 'insert', target, schema);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_update()',
                   prefix || 'update', target, schema);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_delete()', prefix || 'delete', target, schema);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_truncate()', prefix || 'truncate', target, schema);
END
$$;

-- The demo's users table, when the service creates it: the seed's semantics, where a writer that omits the
-- timestamps gets them and an update that forgets updated_at still moves it. Only on a table the service created.
CREATE FUNCTION ${flyway:defaultSchema}.users_timestamps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := COALESCE(NEW.created_at, now());
        NEW.updated_at := COALESCE(NEW.updated_at, NEW.created_at);
    ELSIF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
