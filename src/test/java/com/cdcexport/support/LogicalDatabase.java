package com.cdcexport.support;

import java.nio.file.Files;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.config.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A PostgreSQL with {@code wal_level=logical}, for log-based capture: TEST_LOGICAL_DATABASE_URL when set, else a
 * server the tests start themselves (the embedded binaries), once per JVM. The shared test server has
 * {@code wal_level=replica}, which log-based capture refuses.
 */
public final class LogicalDatabase {

    /** The application's tables of {@link TestDatabase}, here too. */
    private static final String APP_TABLES_SQL = """
            CREATE SCHEMA IF NOT EXISTS app;
            CREATE TABLE IF NOT EXISTS app.orders (
                id        BIGINT PRIMARY KEY,
                customer  TEXT NOT NULL,
                total     NUMERIC(12, 2),
                status    TEXT NOT NULL DEFAULT 'new',
                placed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                doc       JSONB);
            CREATE TABLE IF NOT EXISTS app.order_lines (
                order_id BIGINT NOT NULL,
                line_no  INT NOT NULL,
                sku      TEXT NOT NULL,
                qty      INT NOT NULL,
                PRIMARY KEY (order_id, line_no));
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
            jdbc.execute(APP_TABLES_SQL);
        }
        return url;
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
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(Files.createTempDirectory("cdc-test-pg-logical"))
                    .setServerConfig("wal_level", "logical")
                    .setServerConfig("max_replication_slots", "8")
                    .setServerConfig("max_wal_senders", "8")
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (Exception ignored) {
                    // the JVM is going away
                }
            }));
            String started = postgres.getJdbcUrl("postgres", "postgres");
            DatabaseUrl.parse(started);
            return started + "&currentSchema=cdc,public";
        } catch (Exception e) {
            throw new IllegalStateException("Could not start a PostgreSQL with wal_level=logical for the log-based "
                    + "capture tests: " + e + " (or set TEST_LOGICAL_DATABASE_URL)", e);
        }
    }
}
