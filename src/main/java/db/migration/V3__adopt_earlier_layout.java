package db.migration;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

import com.cdcexport.sql.SqlText;

/**
 * Installations from before the service had its own schema kept everything in {@code public}: Flyway's history,
 * watermarks, jobs, consumers and keys, plus a {@code change_xid} column, two triggers and a tombstone table on
 * {@code users}. This moves their data into the new tables, turns the changes no consumer has seen yet into
 * change-log entries (so no watermark loses anything), and gives {@code users} back its original shape.
 * On a database without that layout it does nothing.
 */
public class V3__adopt_earlier_layout extends BaseJavaMigration {

    @Override
    public void migrate(Context context) throws SQLException {
        Connection connection = context.getConnection();
        String schema = context.getConfiguration().getDefaultSchema();
        if (schema == null || "public".equals(schema) || !earlierLayoutPresent(connection)) {
            return;
        }
        try (Statement sql = connection.createStatement()) {
            sql.execute("SET LOCAL search_path = " + SqlText.identifier(schema) + ", pg_catalog");
            sql.execute("INSERT INTO consumers SELECT id, created_at FROM public.consumers");
            sql.execute("INSERT INTO api_keys SELECT id, consumer_id, secret_hash, origin, created_at, expires_at,"
                    + " revoked_at FROM public.api_keys");
            sql.execute("""
                    INSERT INTO export_jobs (id, consumer_id, export_type, status, output_filename, tables, files,
                                             rows_exported, total_rows, snapshot, instance_id,
                                             heartbeat_at, created_at, started_at, finished_at, error, attempts)
                    SELECT id, consumer_id, export_type, status, output_filename, ARRAY['public.users'],
                           CASE WHEN status = 'completed' THEN jsonb_build_array(jsonb_build_object(
                               'table', 'public.users', 'filename', output_filename, 'rows', rows_exported)) END,
                           rows_exported, total_rows, snapshot, instance_id, heartbeat_at,
                           created_at, started_at, finished_at, error, attempts
                      FROM public.export_jobs""");
            sql.execute("""
                    INSERT INTO watermarks (consumer_id, table_name, last_exported_at, updated_at, snapshot)
                    SELECT consumer_id, 'public.users', last_exported_at, updated_at, snapshot FROM public.watermarks""");
            sql.execute("""
                    INSERT INTO captured_tables (relid, schema_name, table_name, key_attnums, created_by_service)
                    VALUES ('public.users'::regclass, 'public', 'users', ARRAY[1]::int2[], TRUE)""");
            // Changes some consumer has not seen: every row and tombstone after the oldest watermark's horizon.
            // Extra entries are harmless (a window re-reads a row's current state); a missing one would be lost.
            sql.execute("""
                    INSERT INTO change_log (table_oid, change_xid, op, key, changed_at)
                    SELECT 'public.users'::regclass, change_xid, 'U', jsonb_build_array(id), updated_at
                      FROM public.users
                     WHERE change_xid >= COALESCE((SELECT min(pg_snapshot_xmin(snapshot)) FROM public.watermarks),
                                                  pg_snapshot_xmax(pg_current_snapshot()))
                     ORDER BY change_xid""");
            sql.execute("""
                    INSERT INTO change_log (table_oid, change_xid, op, key, old_row, changed_at)
                    SELECT 'public.users'::regclass, change_xid, 'D', jsonb_build_array(user_id),
                           jsonb_build_object('id', user_id, 'name', name, 'email', email, 'created_at', created_at,
                                              'updated_at', updated_at, 'is_deleted', TRUE),
                           deleted_at
                      FROM public.user_tombstones ORDER BY change_xid""");
            sql.execute("DROP TRIGGER IF EXISTS users_capture_change ON public.users");
            sql.execute("DROP TRIGGER IF EXISTS users_capture_delete ON public.users");
            sql.execute("DROP FUNCTION IF EXISTS public.users_capture_change()");
            sql.execute("DROP FUNCTION IF EXISTS public.users_capture_delete()");
            sql.execute("ALTER TABLE public.users DROP COLUMN IF EXISTS change_xid");
            sql.execute("DROP TABLE public.user_tombstones, public.watermarks, public.export_jobs, public.api_keys,"
                    + " public.consumers, public.flyway_schema_history");
            // The capture triggers and the timestamp trigger are installed by the service at start-up.
        }
    }

    private static boolean earlierLayoutPresent(Connection connection) throws SQLException {
        try (Statement sql = connection.createStatement();
             ResultSet rs = sql.executeQuery("""
                     SELECT to_regclass('public.flyway_schema_history') IS NOT NULL
                        AND to_regclass('public.watermarks') IS NOT NULL
                        AND to_regclass('public.user_tombstones') IS NOT NULL
                        AND to_regclass('public.api_keys') IS NOT NULL""")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

}
