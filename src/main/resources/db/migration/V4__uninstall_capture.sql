-- Stops capturing a table: its triggers go, and so do its change-log entries. Run by a DBA (or the table's owner)
-- once the table is out of every instance's EXPORT_TABLES: SELECT cdc.uninstall_capture('public.orders');
-- Capturing it again later makes its consumers re-sync with a full export (CapturedTables writes a marker).
CREATE FUNCTION ${flyway:defaultSchema}.uninstall_capture(target REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    prefix TEXT := '${flyway:defaultSchema}_capture_';
    operation TEXT;
BEGIN
    FOREACH operation IN ARRAY ARRAY['insert', 'update', 'key_change', 'delete', 'truncate'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', prefix || operation, target);
    END LOOP;
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', '${flyway:defaultSchema}_users_created', target);
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', '${flyway:defaultSchema}_users_touched', target);
    DELETE FROM ${flyway:defaultSchema}.change_log WHERE table_oid = target;
    DELETE FROM ${flyway:defaultSchema}.captured_tables WHERE relid = target;
END
$$;
