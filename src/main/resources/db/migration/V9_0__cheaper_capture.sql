-- Cheaper capture triggers (issue 23; measurements in docs/benchmarks.md, design in docs/capture.md).
--
-- Where a captured write's time went: the key of every inserted or updated row was read out of to_jsonb of the
-- whole row, and row_key, once inlined, computed that to_jsonb twice (its parameter appears twice in the CASE):
-- ~5.7 µs per 300-byte row, against ~0.3 µs for jsonb_build_array of the key column itself. Inserted and updated
-- rows now name their key by position when the key is the table's leading columns, and every other path converts
-- a row once.

-- A row's key read from its to_jsonb, r computed once by the caller. A single-column key is checked with IS NULL
-- (a key column renamed since install_capture reads as SQL null; a key value is never null), which costs a tenth of
-- the jsonpath test it replaces; composite keys keep the aggregate and its test.
CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.row_key(r JSONB, names TEXT[], target OID) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pg_catalog.cardinality(names) = 1 AND (r OPERATOR(pg_catalog.->) names[1]) IS NOT NULL
                THEN pg_catalog.jsonb_build_array(r OPERATOR(pg_catalog.->) names[1])
                WHEN pg_catalog.cardinality(names) = 1
                  OR ${flyway:defaultSchema}.key_of(r, names) OPERATOR(pg_catalog.@>) '[null]'::pg_catalog.jsonb
                THEN ${flyway:defaultSchema}.key_of(r, ${flyway:defaultSchema}.key_names(target))
                ELSE ${flyway:defaultSchema}.key_of(r, names) END
$$;

-- Inserted and updated rows of a table whose key is not its leading columns: their keys, from each row's to_jsonb
-- computed once (OFFSET 0 keeps the subquery, so the inlined row_key reads a column, not the expression).
CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.capture_new_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
#variable_conflict use_variable
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
    SELECT TG_RELID, CASE TG_OP WHEN 'INSERT' THEN 'I' ELSE 'U' END,
           ${flyway:defaultSchema}.row_key(n.r, TG_ARGV[0:TG_NARGS - 1], TG_RELID)
      FROM (SELECT pg_catalog.to_jsonb(n) AS r FROM new_rows n OFFSET 0) AS n;
    RETURN NULL;
END
$$;

-- Inserted and updated rows of a table whose key is its first one to three live columns, in key order (the common
-- `id` first): the key is read by position, through the column aliases of the transition table, which PostgreSQL
-- assigns to the live columns in order. No column name is involved, so a renamed key column reads right with no
-- lookup, and nothing but a change of the primary key can move the key off those positions (columns are only ever
-- added at the end); a changed primary key makes every window refuse itself until a full export (ChangeCapture) and
-- start-up reinstalls the triggers. The aliases are system column names, which no user column can have, so they
-- can never be ambiguous with one of the table's own columns.
CREATE FUNCTION ${flyway:defaultSchema}.capture_new_rows_leading_key() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
    op "char" := CASE TG_OP WHEN 'INSERT' THEN 'I' ELSE 'U' END;
BEGIN
    IF TG_NARGS = 1 THEN
        INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
        SELECT TG_RELID, op, pg_catalog.jsonb_build_array(n.xmin) FROM new_rows AS n (xmin);
    ELSIF TG_NARGS = 2 THEN
        INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
        SELECT TG_RELID, op, pg_catalog.jsonb_build_array(n.xmin, n.cmin) FROM new_rows AS n (xmin, cmin);
    ELSE
        INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key)
        SELECT TG_RELID, op, pg_catalog.jsonb_build_array(n.xmin, n.cmin, n.xmax)
          FROM new_rows AS n (xmin, cmin, xmax);
    END IF;
    RETURN NULL;
END
$$;

-- Deleted rows: their last values are the row's to_jsonb (read by name at export time), and the key comes from it.
CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.capture_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
#variable_conflict use_variable
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key, old_row)
    SELECT TG_RELID, 'D', ${flyway:defaultSchema}.row_key(o.r, TG_ARGV[0:TG_NARGS - 1], TG_RELID), o.r
      FROM (SELECT pg_catalog.to_jsonb(o) AS r FROM old_rows o OFFSET 0) AS o;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.capture_key_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
    old_row JSONB := pg_catalog.to_jsonb(OLD);
BEGIN
    INSERT INTO ${flyway:defaultSchema}.change_log (table_oid, op, key, old_row)
    VALUES (TG_RELID, 'D', ${flyway:defaultSchema}.row_key(old_row, TG_ARGV[0:TG_NARGS - 1], TG_RELID), old_row),
           (TG_RELID, 'I', ${flyway:defaultSchema}.row_key(pg_catalog.to_jsonb(NEW), TG_ARGV[0:TG_NARGS - 1], TG_RELID),
            NULL);
    RETURN NULL;
END
$$;

-- Whether a table's key is its first live columns in key order, at most three of them: the tables whose inserts
-- and updates capture_new_rows_leading_key can name by position.
CREATE FUNCTION ${flyway:defaultSchema}.key_is_leading(target OID) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.count(*) BETWEEN 1 AND 3
       AND pg_catalog.bool_and(k.attnum = l.attnum)
      FROM (SELECT k.attnum, k.ord
              FROM pg_catalog.pg_index i
             CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
             WHERE i.indrelid = target AND i.indisprimary) AS k
      LEFT JOIN (SELECT a.attnum, pg_catalog.row_number() OVER (ORDER BY a.attnum) AS ord
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped) AS l ON l.ord = k.ord
$$;

-- The function a table's insert and update triggers call.
CREATE FUNCTION ${flyway:defaultSchema}.capture_new_rows_function(target OID) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN ${flyway:defaultSchema}.key_is_leading(target) THEN 'capture_new_rows_leading_key'
                ELSE 'capture_new_rows' END
$$;

-- Whether a table has every capture trigger, naming its current key columns and calling the functions
-- install_capture would choose now (so start-up reinstalls triggers installed by an earlier version).
CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.capture_installed(target REGCLASS) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.count(*) = 5
       AND pg_catalog.bool_and(t.tgenabled <> 'D')
       AND pg_catalog.bool_and(t.tgname = '${flyway:defaultSchema}_capture_truncate'
                               OR pg_catalog.encode(t.tgargs, 'escape')
                                  = pg_catalog.array_to_string(${flyway:defaultSchema}.key_names(target), '\000') || '\000')
       AND pg_catalog.bool_and(p.proname = CASE WHEN t.tgname IN ('${flyway:defaultSchema}_capture_insert',
                                                                 '${flyway:defaultSchema}_capture_update')
                                                THEN ${flyway:defaultSchema}.capture_new_rows_function(target)
                                                ELSE p.proname END)
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
     WHERE t.tgrelid = target
       AND t.tgname IN ('${flyway:defaultSchema}_capture_insert', '${flyway:defaultSchema}_capture_update',
                        '${flyway:defaultSchema}_capture_delete', '${flyway:defaultSchema}_capture_truncate',
                        '${flyway:defaultSchema}_capture_key_change')
$$;

CREATE OR REPLACE FUNCTION ${flyway:defaultSchema}.install_capture(target REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    prefix TEXT := '${flyway:defaultSchema}_capture_';
    schema TEXT := '${flyway:defaultSchema}';
    names TEXT[] := ${flyway:defaultSchema}.key_names(target);
    new_rows TEXT := ${flyway:defaultSchema}.capture_new_rows_function(target);
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
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.%I(%s)', prefix || 'insert', target, schema, new_rows,
                   args);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I.%I(%s)', prefix || 'update', target, schema, new_rows,
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

-- Every INSERT into the log built its CHECK (op IN ...) anew: the executor reads a table's check constraints from
-- the catalog's text form and plans them at the start of each statement, a tenth of a captured single-row
-- update's trigger time. Only the service's own functions write op (I, U, D from the triggers, T markers).
ALTER TABLE ${flyway:defaultSchema}.change_log DROP CONSTRAINT IF EXISTS change_log_op_check;
