package com.cdcexport.support;

import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import com.cdcexport.export.capture.CapturedTables;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import com.cdcexport.config.DatabaseUrl;
import org.flywaydb.core.Flyway;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The real PostgreSQL the tests run against, found once per JVM in this order (a JVM started with
 * {@code -Dtest.database.logical=true} uses {@link LogicalDatabase}'s server instead, {@code -Dtest.database.standby=true}
 * {@link StandbyPair}'s primary): TEST_DATABASE_URL, a
 * Testcontainers postgres:15 when Docker is available, the embedded PostgreSQL of the run path (as root through
 * zonky's {@code unshare -U}, as the service does),
 * and otherwise a clear error saying how to provide one.
 */
public final class TestDatabase {

    /** The service's schema in the tests (the default of CDC_SCHEMA). */
    public static final String SCHEMA = "cdc";

    /**
     * Empties the demo table and every table the service writes. The users TRUNCATE leaves a truncate marker in
     * the change log, so the log is emptied after it.
     */
    public static final String RESET_SQL = "TRUNCATE public.users RESTART IDENTITY; "
            + "TRUNCATE app.orders, app.order_lines, app.all_types; "
            + "TRUNCATE cdc.change_log, cdc.watermarks, cdc.export_jobs, cdc.consumer_tables, cdc.held_rows, "
            + "cdc.held_rows_pending, cdc.iceberg_tables, cdc.iceberg_applied, cdc.iceberg_upkeep RESTART IDENTITY";

    /**
     * Puts app.orders back as the test support made it, captured again under its new OID: for tests that drop,
     * re-create or reshape it.
     */
    public static void recreateOrders() {
        jdbc().execute("DROP TABLE IF EXISTS app.orders");
        jdbc().execute("""
                CREATE TABLE app.orders (
                    id        BIGINT PRIMARY KEY,
                    customer  TEXT NOT NULL,
                    total     NUMERIC(12, 2),
                    status    TEXT NOT NULL DEFAULT 'new',
                    placed_at TIMESTAMPTZ NOT NULL DEFAULT now());
                SELECT cdc.install_capture('app.orders');
                UPDATE cdc.captured_tables SET relid = 'app.orders'::regclass
                 WHERE schema_name = 'app' AND table_name = 'orders';""");
    }

    /** EXPORT_TABLES of the tests: the seed's users and an application's own tables in a schema of its own. */
    public static final String EXPORT_TABLES = "users,app.orders,app.order_lines,app.all_types";

    /**
     * Another application's tables, as a user's database has them: a plain key, a composite key, and a column of
     * every common type. The service must capture them without changing their shape.
     */
    static final String APP_TABLES_SQL = """
            CREATE SCHEMA IF NOT EXISTS app;
            CREATE TABLE IF NOT EXISTS app.orders (
                id        BIGINT PRIMARY KEY,
                customer  TEXT NOT NULL,
                total     NUMERIC(12, 2),
                status    TEXT NOT NULL DEFAULT 'new',
                placed_at TIMESTAMPTZ NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS app.order_lines (
                order_id BIGINT NOT NULL,
                line_no  INT NOT NULL,
                sku      TEXT NOT NULL,
                qty      INT NOT NULL,
                PRIMARY KEY (order_id, line_no));
            CREATE TABLE IF NOT EXISTS app.all_types (
                id       UUID PRIMARY KEY,
                num      NUMERIC,
                small    SMALLINT,
                big      BIGINT,
                real8    DOUBLE PRECISION,
                flag     BOOLEAN,
                txt      TEXT,
                vc       VARCHAR(20),
                ch       CHAR(3),
                ints     INT[],
                texts    TEXT[],
                doc      JSONB,
                raw      BYTEA,
                ts       TIMESTAMP,
                tstz     TIMESTAMPTZ,
                day      DATE,
                span     INTERVAL,
                clock    TIME);
            """;

    private static String url;
    private static JdbcTemplate jdbc;

    private TestDatabase() {
    }

    /** A URL in any form DATABASE_URL accepts. */
    public static synchronized String url() {
        if (url == null) {
            url = resolve();
        }
        return url;
    }

    /** A client of the test database independent of any service instance (for tests that run the jar). */
    public static synchronized JdbcTemplate jdbc() {
        if (jdbc == null) {
            DataSource dataSource = dataSource();
            // Tests that run the jar may come first on a fresh database: prepare it as the service would.
            Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").schemas(SCHEMA)
                    .defaultSchema(SCHEMA).createSchemas(true).load().migrate();
            new JdbcTemplate(dataSource).execute(APP_TABLES_SQL);
            new CapturedTables(JdbcClient.create(dataSource),
                    new TransactionTemplate(new DataSourceTransactionManager(dataSource)), SCHEMA, EXPORT_TABLES);
            jdbc = new JdbcTemplate(dataSource);
        }
        return jdbc;
    }

    /** An empty database but for {@code count} users: for tests that need exports that take a while. */
    public static void resetWithUsers(int count) {
        jdbc().execute(RESET_SQL);
        jdbc().update("INSERT INTO users (name, email) SELECT 'User number ' || g, 'user' || g || '@example.com' "
                + "FROM generate_series(1, ?) AS g", count);
        // As after any bulk load (the seeder does the same): a full export's live progress uses the estimate.
        jdbc().execute("ANALYZE users");
    }

    public static String jobStatus(String jobId) {
        return jdbc().queryForObject("SELECT status FROM export_jobs WHERE id = ?", String.class,
                UUID.fromString(jobId));
    }

    /** Waits until an export job is in {@code wanted} (and fails the test if it never gets there). */
    public static void awaitStatus(String jobId, String wanted) {
        for (int i = 0; i < 3_000 && !wanted.equals(jobStatus(jobId)); i++) {
            IntegrationTest.sleep(10);
        }
        if (!wanted.equals(jobStatus(jobId))) {
            throw new AssertionError("job " + jobId + " is " + jobStatus(jobId) + ", not " + wanted);
        }
    }

    /** Waits for an export job to reach completed, failed or cancelled, and returns that status. */
    public static String awaitJob(String jobId) {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            String status = jobStatus(jobId);
            if (!status.equals("queued") && !status.equals("running")) {
                return status;
            }
            IntegrationTest.sleep(10);
        }
        throw new AssertionError("job " + jobId + " did not finish: "
                + jdbc().queryForMap("SELECT * FROM export_jobs WHERE id = ?", UUID.fromString(jobId)));
    }

    /**
     * A plain connection of its own, outside every pool; unqualified names find the service's tables, then the
     * user's (users).
     */
    public static Connection connect() throws SQLException {
        DatabaseUrl parsed = DatabaseUrl.parse(url());
        return DriverManager.getConnection(withSearchPath(parsed.jdbcUrl()), parsed.username(), parsed.password());
    }

    /**
     * A new, empty database beside the test database (dropped first if a previous run left it), for tests that need
     * a database of their own: an application's existing tables, an earlier layout. Returns a DATABASE_URL.
     */
    public static String scratchDatabase(String suffix) {
        String name = jdbc().queryForObject("SELECT current_database()", String.class) + "_" + suffix;
        dropScratchDatabase(name);
        jdbc().execute("CREATE DATABASE \"" + name + "\"");
        DatabaseUrl parsed = DatabaseUrl.parse(url());
        StringBuilder scratch = new StringBuilder(parsed.jdbcUrl().replaceFirst("^(jdbc:postgresql://[^/]+/)[^?]*",
                "$1" + name));
        if (parsed.username() != null) {
            scratch.append(scratch.indexOf("?") < 0 ? '?' : '&').append("user=").append(parsed.username());
        }
        if (parsed.password() != null) {
            scratch.append(scratch.indexOf("?") < 0 ? '?' : '&').append("password=").append(parsed.password());
        }
        return scratch.toString();
    }

    /** @param name the database name, or a URL {@link #scratchDatabase} returned */
    public static void dropScratchDatabase(String name) {
        String database = name.startsWith("jdbc:") ? name.replaceFirst("^jdbc:postgresql://[^/]+/([^?]*).*$", "$1") : name;
        jdbc().execute("DROP DATABASE IF EXISTS \"" + database + "\" WITH (FORCE)");
    }

    /** A client of any database URL, for scratch databases. */
    public static JdbcTemplate jdbc(String databaseUrl) {
        DatabaseUrl parsed = DatabaseUrl.parse(databaseUrl);
        return new JdbcTemplate(new SimpleDriverDataSource(new org.postgresql.Driver(), parsed.jdbcUrl(),
                parsed.username(), parsed.password()));
    }

    /** A data source of the test database with the same search path as {@link #connect()}. */
    public static DataSource dataSource() {
        DatabaseUrl parsed = DatabaseUrl.parse(url());
        return new SimpleDriverDataSource(new org.postgresql.Driver(), withSearchPath(parsed.jdbcUrl()),
                parsed.username(), parsed.password());
    }

    private static String withSearchPath(String jdbcUrl) {
        return jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA + ",public";
    }

    private static String resolve() {
        if (Boolean.getBoolean("test.database.standby")) {
            // The soak with every export read on a hot standby: the primary of StandbyPair is the test database.
            return StandbyPair.primaryUrl();
        }
        if (Boolean.getBoolean("test.database.logical")) {
            // A run of the tests against a server that can decode its WAL (the soak in log-based capture mode).
            return LogicalDatabase.resolve();
        }
        String configured = System.getenv("TEST_DATABASE_URL");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        if (dockerAvailable()) {
            PostgreSQLContainer container = new PostgreSQLContainer("postgres:15");
            container.start();
            Runtime.getRuntime().addShutdownHook(new Thread(container::stop));
            return container.getJdbcUrl() + "&user=" + container.getUsername() + "&password=" + container.getPassword();
        }
        try {
            return startEmbedded("cdc-test-pg", java.util.Map.of());
        } catch (Exception e) {
            throw noDatabase("the embedded PostgreSQL failed to start: " + e);
        }
    }

    /**
     * Starts an embedded PostgreSQL (stopped when the JVM exits) with {@code settings} in its configuration and
     * returns its JDBC URL, credentials included.
     */
    static String startEmbedded(String directoryPrefix, java.util.Map<String, String> settings) throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(Files.createTempDirectory(directoryPrefix));
        settings.forEach(builder::setServerConfig);
        EmbeddedPostgres postgres = builder.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                postgres.close();
            } catch (Exception ignored) {
                // the JVM is going away
            }
        }));
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    private static IllegalStateException noDatabase(String why) {
        return new IllegalStateException("No PostgreSQL for the tests (" + why + "). Set TEST_DATABASE_URL, e.g. "
                + "TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cdc_export_test (the database must exist "
                + "and may be emptied by the tests), or start Docker.");
    }
}
