package com.cdcexport.support;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import com.cdcexport.config.DatabaseUrl;
import org.flywaydb.core.Flyway;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The real PostgreSQL the tests run against, found once per JVM in this order: TEST_DATABASE_URL, a
 * Testcontainers postgres:15 when Docker is available, the embedded PostgreSQL of the run path (as root through
 * zonky's {@code unshare -U}, as the service does),
 * and otherwise a clear error saying how to provide one.
 */
public final class TestDatabase {

    /** Empties every table the service writes; TRUNCATE fires no delete triggers, so no tombstones either. */
    public static final String RESET_SQL = "TRUNCATE users, user_tombstones, watermarks, export_jobs RESTART IDENTITY";

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
            DatabaseUrl parsed = DatabaseUrl.parse(url());
            SimpleDriverDataSource dataSource = new SimpleDriverDataSource(new org.postgresql.Driver(),
                    parsed.jdbcUrl(), parsed.username(), parsed.password());
            // Tests that run the jar may come first on a fresh database: create the schema as the service would.
            Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
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

    /** A plain connection of its own, outside every pool. */
    public static Connection connect() throws SQLException {
        DatabaseUrl parsed = DatabaseUrl.parse(url());
        return DriverManager.getConnection(parsed.jdbcUrl(), parsed.username(), parsed.password());
    }

    private static String resolve() {
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
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(Files.createTempDirectory("cdc-test-pg"))
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (Exception ignored) {
                    // the JVM is going away
                }
            }));
            return postgres.getJdbcUrl("postgres", "postgres");
        } catch (Exception e) {
            throw noDatabase("the embedded PostgreSQL failed to start: " + e);
        }
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
