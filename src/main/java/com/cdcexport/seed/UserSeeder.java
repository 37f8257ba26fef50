package com.cdcexport.seed;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.Locale;
import javax.sql.DataSource;

import com.opencsv.CSVWriter;
import org.postgresql.PGConnection;
import org.postgresql.copy.PGCopyOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.CommandLineRunner;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.model.TableName;

/**
 * Fills the demo's users table at start-up, at COPY speed, when the service created it and it is empty; a restart
 * (or a second instance) adds nothing, and a users table the service adopted is never seeded over.
 */
@Component
class UserSeeder implements CommandLineRunner {

    private static final Logger log = LoggerFactory.getLogger(UserSeeder.class);
    /** Serialises seeding across instances that start together on one database. */
    private static final long SEED_LOCK = 0x5EED_0001L;
    private static final long RANDOM_SEED = 20260226L;

    private final DataSource dataSource;
    private final CdcProperties properties;
    private final CapturedTables captured;
    private final Clock clock;

    UserSeeder(DataSource dataSource, CdcProperties properties, CapturedTables captured, Clock clock) {
        this.dataSource = dataSource;
        this.properties = properties;
        this.captured = captured;
        this.clock = clock;
    }

    @Override
    public void run(String... args) throws Exception {
        if (properties.seedUsers() > 0 && captured.createdByService(TableName.USERS)) {
            seed(properties.seedUsers());
        } else if (properties.seedUsers() > 0 && captured.isCaptured(TableName.USERS)) {
            log.info("public.users existed before the service: adopted as it is, not seeded");
        }
    }

    /** @return rows inserted: {@code count}, or 0 when the table already had users */
    long seed(int count) throws SQLException, IOException {
        long start = System.nanoTime();
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                if (!lockAndCheckEmpty(connection)) {
                    connection.rollback();
                    log.info("Users table is not empty; seeding skipped");
                    return 0;
                }
                copyRows(connection, count);
                connection.commit();
            } catch (SQLException | IOException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
            analyze(connection);
        }
        log.info("Seeded {} users in {} s", count, String.format(Locale.ROOT, "%.2f", (System.nanoTime() - start) / 1e9));
        return count;
    }

    /** Fresh statistics at once, not when autovacuum gets to it: export progress uses the planner's estimate. */
    private static void analyze(Connection connection) throws SQLException {
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement()) {
            statement.execute("ANALYZE public.users");
        }
    }

    private static boolean lockAndCheckEmpty(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT pg_advisory_xact_lock(" + SEED_LOCK + ")");
            try (ResultSet rs = statement.executeQuery("SELECT NOT EXISTS (SELECT 1 FROM public.users)")) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private void copyRows(Connection connection, int count) throws SQLException, IOException {
        FakeUsers users = new FakeUsers(RANDOM_SEED, clock.instant());
        PGCopyOutputStream copy = new PGCopyOutputStream(connection.unwrap(PGConnection.class),
                "COPY public.users (name, email, created_at, updated_at, is_deleted) FROM STDIN WITH (FORMAT csv)",
                1 << 16);
        try (CSVWriter csv = new CSVWriter(new BufferedWriter(new OutputStreamWriter(copy, StandardCharsets.UTF_8),
                1 << 16))) {
            for (long n = 1; n <= count; n++) {
                csv.writeNext(users.row(n), false);
            }
        }
    }
}
