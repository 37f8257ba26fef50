-- Capture triggers: statement-level, with transition tables, one INSERT ... SELECT into change_log per statement.
-- They name no column of the user's table in their text (rows are read through to_jsonb), so renaming, adding or
-- dropping columns never makes a write of the user's application fail.

CREATE FUNCTION ${flyway:defaultSchema}.key_names(target OID) RETURNS TEXT[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.ord)
              FROM pg_catalog.pg_index i
             CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = target AND i.indisprimary);
END
$$;

-- A row's key as a JSON array in key order: [42], ["A-1", 3].
CREATE FUNCTION ${flyway:defaultSchema}.key_of(r JSONB, names TEXT[]) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.jsonb_agg(r OPERATOR(pg_catalog.->) n ORDER BY o)
      FROM pg_catalog.unnest(names) WITH ORDINALITY AS u(n, o)
$$;

-- The key of one row as the triggers compute it. Their arguments name the key columns (install_capture passes
-- them), which spares a catalog lookup per statement; a key column renamed since then yields a null, which a key
-- column never holds, and the names are then read from the catalog instead. Both functions are simple enough for
-- PostgreSQL to inline into the trigger's statement (a SQL function call per row would cost more than the rest of
-- the trigger), and single-column keys, the common case, are built without an aggregate.
CREATE FUNCTION ${flyway:defaultSchema}.key_by(r JSONB, names TEXT[]) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pg_catalog.cardinality(names) = 1
                THEN pg_catalog.jsonb_build_array(r OPERATOR(pg_catalog.->) names[1])
                ELSE ${flyway:defaultSchema}.key_of(r, names) END
$$;

CREATE FUNCTION ${flyway:defaultSchema}.row_key(r JSONB, names TEXT[], target OID) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN ${flyway:defaultSchema}.key_by(r, names) OPERATOR(pg_catalog.@?) '$[*] ? (@ == null)'::pg_catalog.jsonpath
                THEN ${flyway:defaultSchema}.key_of(r, ${flyway:defaultSchema}.key_names(target))
                ELSE ${flyway:defaultSchema}.key_by(r, names) END
$$;

-- The trigger functions are SECURITY DEFINER, so the application's writer role needs no privilege on this schema,
-- and name every function and operator with its schema, so no search_path of a caller can substitute its own.
-- (A SET search_path clause would do the same at about a tenth of a single-row update's time.)
-- Inserted and updated rows: their keys (values are read from the table at export time).
CREATE FUNCTION ${flyway:defaultSchema}.capture_new_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
    SELECT TG_RELID, CASE TG_OP WHEN 'INSERT' THEN 'I' ELSE 'U' END,
           ${flyway:defaultSchema}.row_key(pg_catalog.to_jsonb(n), TG_ARGV[0:TG_NARGS - 1], TG_RELID)
      FROM new_rows n;
    RETURN NULL;
END
$$;

CREATE FUNCTION ${flyway:defaultSchema}.capture_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key, old_row)
    SELECT TG_RELID, 'D', ${flyway:defaultSchema}.row_key(o.r, TG_ARGV[0:TG_NARGS - 1], TG_RELID), o.r
      FROM (SELECT pg_catalog.to_jsonb(o) AS r FROM old_rows o) AS o;
    RETURN NULL;
END
$$;

-- An update that changed a primary key: the old key is gone, like a delete, with these last values, and the new
-- key is born, like an insert (so a delta says INSERT for it, not UPDATE). A row-level
-- trigger limited to updates of the key columns whose WHEN compares them: PostgreSQL stores both by column
-- number, so renames cannot break it, and an update that leaves the key alone never calls this function.
CREATE FUNCTION ${flyway:defaultSchema}.capture_key_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key, old_row)
    VALUES (TG_RELID, 'D', ${flyway:defaultSchema}.row_key(pg_catalog.to_jsonb(OLD), TG_ARGV[0:TG_NARGS - 1], TG_RELID),
            pg_catalog.to_jsonb(OLD)),
           (TG_RELID, 'I', ${flyway:defaultSchema}.row_key(pg_catalog.to_jsonb(NEW), TG_ARGV[0:TG_NARGS - 1], TG_RELID), NULL);
    RETURN NULL;
END
$$;

-- TRUNCATE fires no row triggers, so the rows it removed cannot be named: the marker makes every consumer whose
-- window spans it re-sync with a full export (never a silent loss).
CREATE FUNCTION ${flyway:defaultSchema}.capture_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key) VALUES (TG_RELID, 'T', '[]');
    RETURN NULL;
END
$$;

-- Whether a table has every capture trigger, naming its current key columns.
CREATE FUNCTION ${flyway:defaultSchema}.capture_installed(target REGCLASS) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.count(*) = 5
       AND pg_catalog.bool_and(t.tgenabled <> 'D')
       AND pg_catalog.bool_and(t.tgname = '${flyway:defaultSchema}_capture_truncate'
                               OR pg_catalog.encode(t.tgargs, 'escape')
                                  = pg_catalog.array_to_string(${flyway:defaultSchema}.key_names(target), '\000') || '\000')
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = target
       AND t.tgname IN ('${flyway:defaultSchema}_capture_insert', '${flyway:defaultSchema}_capture_update',
                        '${flyway:defaultSchema}_capture_delete', '${flyway:defaultSchema}_capture_truncate',
                        '${flyway:defaultSchema}_capture_key_change')
$$;

-- What the service runs at start-up for each EXPORT_TABLES entry, and what a DBA can run instead as the table's
-- owner (or a role with the TRIGGER privilege on it): SELECT cdc.install_capture('public.orders');
-- Idempotent (CREATE OR REPLACE TRIGGER); run it again after changing a table's primary key.
CREATE FUNCTION ${flyway:defaultSchema}.install_capture(target REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    prefix TEXT := '${flyway:defaultSchema}_capture_';
    schema TEXT := '${flyway:defaultSchema}';
    names TEXT[] := ${flyway:defaultSchema}.key_names(target);
    args TEXT;
    columns TEXT;
    old_key TEXT;
    new_key TEXT;
BEGIN
    IF names IS NULL THEN
        RAISE EXCEPTION '% has no primary key; capture needs one to name rows', target;
    END IF;
    SELECT string_agg(quote_literal(n), ', '), string_agg(quote_ident(n), ', '),
           string_agg('OLD.' || quote_ident(n), ', '), string_agg('NEW.' || quote_ident(n), ', ')
      INTO args, columns, old_key, new_key
      FROM unnest(names) AS n;
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_new_rows(%s)', prefix || 'insert', target, schema,
                   args);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_new_rows(%s)', prefix || 'update', target, schema,
                   args);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE OF %s ON %s FOR EACH ROW '
                   'WHEN (ROW(%s) IS DISTINCT FROM ROW(%s)) EXECUTE FUNCTION %I.capture_key_change(%s)',
                   prefix || 'key_change', columns, target, old_key, new_key, schema, args);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.capture_delete(%s)', prefix || 'delete', target, schema,
                   args);
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
