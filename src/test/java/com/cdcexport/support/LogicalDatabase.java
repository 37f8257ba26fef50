package com.cdcexport.support;

import java.util.Map;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A PostgreSQL with {@code wal_level=logical}, for log-based capture: TEST_LOGICAL_DATABASE_URL when set, else a
 * server the tests start themselves (the embedded binaries), once per JVM. The shared test server has
 * {@code wal_level=replica}, which log-based capture refuses.
 */
public final class LogicalDatabase {

    /**
     * The application's tables of {@link TestDatabase}, here too, orders with a jsonb column more, and a twin of
     * orders that keeps trigger capture, to compare the two modes statement by statement.
     */
    private static final String MORE_TABLES_SQL = """
            ALTER TABLE app.orders ADD COLUMN IF NOT EXISTS doc JSONB;
            CREATE TABLE IF NOT EXISTS app.twin_orders (LIKE app.orders INCLUDING ALL);
            """;

    private static String url;
    private static JdbcTemplate jdbc;

    private LogicalDatabase() {
    }

    public static synchronized String url() {
        if (url == null) {
            url = resolve();
            jdbc = TestDatabase.jdbc(url);
            jdbc.execute(TestDatabase.APP_TABLES_SQL);
            jdbc.execute(MORE_TABLES_SQL);
        }
        return url;
    }

    /**
     * Waits until the decoder has written everything committed so far: it writes a marker into the WAL, as an
     * export does, and waits for the decoder's progress to pass it.
     */
    public static void awaitDecoded() {
        awaitDecoded(jdbc());
    }

    /** Until the decoder of the service on {@code server} has passed a marker written now. */
    public static void awaitDecoded(JdbcTemplate server) {
        String marker = server.queryForObject("SELECT pg_logical_emit_message(false, 'cdc_export', 'test')::text",
                String.class);
        // Flushes the WAL past the marker (a commit with an xid), as an export does.
        server.execute("SELECT pg_current_xact_id()");
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
        while (!server.queryForObject("SELECT coalesce((SELECT applied_lsn >= ?::pg_lsn FROM cdc.logical_capture), "
                + "false)", Boolean.class, marker)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the decoder did not pass " + marker + " within 30 s");
            }
            IntegrationTest.sleep(5);
        }
    }

    /** The order ids of app.order_lines' insert entries in the change log, in order. */
    public static java.util.List<Long> loggedOrderLineInserts() {
        return jdbc().queryForList("SELECT (key->>0)::bigint FROM cdc.change_log WHERE table_oid = "
                + "'app.order_lines'::regclass AND op = 'I' ORDER BY 1", Long.class);
    }

    /** A client of its own, outside the service's pool; unqualified names find the service's tables. */
    public static synchronized JdbcTemplate jdbc() {
        url();
        return jdbc;
    }

    /**
     * The URL of a server with wal_level=logical and nothing prepared in it: TEST_LOGICAL_DATABASE_URL, or one started
     * now (a new one per call: call it once per JVM).
     */
    static String resolve() {
        String configured = System.getenv("TEST_LOGICAL_DATABASE_URL");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        try {
            return TestDatabase.startEmbedded("cdc-test-pg-logical", Map.of("wal_level", "logical",
                    "max_replication_slots", "8", "max_wal_senders", "8")) + "&currentSchema=cdc,public";
        } catch (Exception e) {
            throw new IllegalStateException("Could not start a PostgreSQL with wal_level=logical for the log-based "
                    + "capture tests: " + e + " (or set TEST_LOGICAL_DATABASE_URL)", e);
        }
    }
}
