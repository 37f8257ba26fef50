package com.cdcexport.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The primary/standby pair of {@link StandbyPair} behaves as the standby exports of issue 26 assume: replay makes
 * the primary's commits visible, a paused replay holds them back, snapshots can be exported and shared on the
 * standby, and a long read there is cancelled by a recovery conflict when the primary vacuums away what it reads.
 */
class StandbyPairTest {

    /** Rows a slow standby query reads one per millisecond: a read of several seconds. */
    private static final int SLOW_ROWS = 4_000;

    private static final ExecutorService standbyReader = Executors.newSingleThreadExecutor();

    private final JdbcTemplate primary = StandbyPair.primaryJdbc();
    private final JdbcTemplate standby = StandbyPair.standbyJdbc();

    @BeforeAll
    static void tables() {
        long started = System.nanoTime();
        JdbcTemplate primary = StandbyPair.primaryJdbc();
        System.out.printf(Locale.ROOT, "StandbyPair ready in %d ms%n", (System.nanoTime() - started) / 1_000_000);
        primary.execute("CREATE SCHEMA IF NOT EXISTS pair_test");
        primary.execute("DROP TABLE IF EXISTS pair_test.notes, pair_test.doomed");
        primary.execute("CREATE TABLE pair_test.notes (id BIGINT PRIMARY KEY, note TEXT NOT NULL)");
        primary.execute("CREATE TABLE pair_test.doomed (id BIGINT PRIMARY KEY)");
        StandbyPair.awaitReplayed();
    }

    @AfterEach
    void replayOnAndDefaultSettings() {
        if (!"not paused".equals(StandbyPair.replayPauseState())) {
            StandbyPair.resumeReplay();
        }
        StandbyPair.configureStandby(false, StandbyPair.DEFAULT_STREAMING_DELAY);
    }

    @AfterAll
    static void stopReader() {
        standbyReader.shutdownNow();
    }

    @Test
    void theStandbyIsInRecoveryAndHasTheApplicationsTables() {
        assertThat(standby.queryForObject("SELECT pg_is_in_recovery()", Boolean.class)).isTrue();
        assertThat(primary.queryForObject("SELECT pg_is_in_recovery()", Boolean.class)).isFalse();
        assertThat(standby.queryForList("SELECT schema_name || '.' || table_name FROM cdc.captured_tables "
                + "ORDER BY 1", String.class))
                .containsExactly("app.all_types", "app.order_lines", "app.orders", "public.users");
        assertThatThrownBy(() -> standby.update("INSERT INTO pair_test.notes VALUES (0, 'on the standby')"))
                .hasMessageContaining("read-only transaction");
    }

    @Test
    void aRowCommittedOnThePrimaryIsVisibleOnTheStandbyOnceReplayed() {
        primary.update("INSERT INTO pair_test.notes VALUES (1, 'replayed')");
        long started = System.nanoTime();
        StandbyPair.awaitReplayed();
        System.out.printf(Locale.ROOT, "awaitReplayed after one commit: %d ms%n", (System.nanoTime() - started) / 1_000_000);

        assertThat(standby.queryForObject("SELECT note FROM pair_test.notes WHERE id = 1", String.class))
                .isEqualTo("replayed");
    }

    @Test
    void withReplayPausedACommittedRowStaysInvisibleOnTheStandbyUntilReplayResumes() {
        StandbyPair.pauseReplay();
        assertThat(StandbyPair.replayPauseState()).isEqualTo("paused");
        primary.update("INSERT INTO pair_test.notes VALUES (2, 'held back')");
        // The commit's WAL has reached the standby: only the pause keeps the row from it.
        StandbyPair.awaitReceived();

        assertThat(standby.queryForObject("SELECT count(*) FROM pair_test.notes WHERE id = 2", Long.class))
                .isZero();
        assertThat(StandbyPair.replayLagBytes()).isPositive();
        assertThatThrownBy(StandbyPair::awaitReplayed).hasMessageContaining("paused");

        StandbyPair.resumeReplay();
        StandbyPair.awaitReplayed();
        assertThat(standby.queryForObject("SELECT note FROM pair_test.notes WHERE id = 2", String.class))
                .isEqualTo("held back");
    }

    /**
     * What parallel readers of one export on the standby rely on: the snapshot of one session (its
     * pg_current_snapshot, the export's watermark) exported and imported by another, which then sees neither more nor
     * less than the first, though the standby has replayed more since.
     */
    @Test
    void aSnapshotExportedOnTheStandbyIsImportedByAnotherStandbySession() throws Exception {
        primary.update("INSERT INTO pair_test.notes VALUES (3, 'before the snapshot')");
        StandbyPair.awaitReplayed();
        try (Connection exporter = StandbyPair.connectStandby(); Connection importer = StandbyPair.connectStandby()) {
            exporter.setAutoCommit(false);
            exporter.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            String snapshot = single(exporter, "SELECT pg_current_snapshot()::text");
            String exported = single(exporter, "SELECT pg_export_snapshot()");
            assertThat(snapshot).matches("\\d+:\\d+:[\\d,]*");
            assertThat(exported).isNotBlank();

            primary.update("INSERT INTO pair_test.notes VALUES (4, 'after the snapshot')");
            StandbyPair.awaitReplayed();

            importer.setAutoCommit(false);
            importer.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement statement = importer.createStatement()) {
                statement.execute("SET TRANSACTION SNAPSHOT '" + exported + "'");
            }
            assertThat(single(importer, "SELECT pg_current_snapshot()::text")).isEqualTo(snapshot);
            assertThat(single(importer, "SELECT string_agg(id::text, ',' ORDER BY id) FROM pair_test.notes "
                    + "WHERE id IN (3, 4)")).isEqualTo("3");
            assertThat(standby.queryForObject("SELECT count(*) FROM pair_test.notes WHERE id IN (3, 4)", Long.class))
                    .isEqualTo(2);
            importer.rollback();
            exporter.rollback();
        }
    }

    @Test
    void withoutFeedbackALongStandbyReadIsCancelledWhenThePrimaryVacuumsAwayItsRows() throws Exception {
        StandbyPair.configureStandby(false, Duration.ofSeconds(1));
        fillDoomed();
        long conflictsBefore = snapshotConflicts();
        Future<Long> read = standbyReader.submit(StandbyPairTest::slowReadOfDoomed);
        awaitSlowRead();

        primary.update("DELETE FROM pair_test.doomed");
        primary.execute("VACUUM pair_test.doomed");
        long vacuumed = System.nanoTime();

        assertThatThrownBy(() -> read.get(60, TimeUnit.SECONDS)).rootCause().isInstanceOfSatisfying(
                PSQLException.class, e -> {
                    System.out.printf(Locale.ROOT, "recovery conflict %d ms after the primary's VACUUM: SQLState %s, message "
                            + "\"%s\", detail \"%s\"%n", (System.nanoTime() - vacuumed) / 1_000_000, e.getSQLState(),
                            e.getServerErrorMessage().getMessage(), e.getServerErrorMessage().getDetail());
                    assertThat(e.getSQLState()).isEqualTo("40001");
                    assertThat(e.getServerErrorMessage().getMessage())
                            .isEqualTo("canceling statement due to conflict with recovery");
                    assertThat(e.getServerErrorMessage().getDetail())
                            .isEqualTo("User query might have needed to see row versions that must be removed.");
                });
        // The cancelled backend reports the conflict to the statistics when it is done with it.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (snapshotConflicts() == conflictsBefore && System.nanoTime() < deadline) {
            IntegrationTest.sleep(50);
        }
        assertThat(snapshotConflicts()).isGreaterThan(conflictsBefore);
    }

    /**
     * Why a chunk cancelled by a recovery conflict cannot be read again in the same snapshot on that standby: the
     * conflict is with the snapshot, so every session holding it loses it, the exporting one (idle in its
     * transaction) included, and the snapshot can no longer be imported.
     */
    @Test
    void aRecoveryConflictTakesTheSharedSnapshotFromEverySessionHoldingIt() throws Exception {
        StandbyPair.configureStandby(false, Duration.ofSeconds(1));
        fillDoomed();
        try (Connection exporter = StandbyPair.connectStandby()) {
            exporter.setAutoCommit(false);
            exporter.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            String exported = single(exporter, "SELECT pg_export_snapshot()");
            Future<Long> read = standbyReader.submit(() -> {
                try (Connection reader = StandbyPair.connectStandby()) {
                    reader.setAutoCommit(false);
                    reader.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                    try (Statement statement = reader.createStatement()) {
                        statement.execute("SET TRANSACTION SNAPSHOT '" + exported + "'");
                    }
                    return Long.valueOf(single(reader,
                            "SELECT count(*) FROM (SELECT id, pg_sleep(0.001) FROM pair_test.doomed) AS slow"));
                }
            });
            awaitSlowRead();

            primary.update("DELETE FROM pair_test.doomed");
            primary.execute("VACUUM pair_test.doomed");

            assertThatThrownBy(() -> read.get(60, TimeUnit.SECONDS)).rootCause().isInstanceOfSatisfying(
                    PSQLException.class, e -> {
                        report("the reader of the imported snapshot", e);
                        assertThat(e.getSQLState()).isEqualTo("40001");
                        assertThat(e.getServerErrorMessage().getSeverity()).isEqualTo("ERROR");
                        assertThat(e.getServerErrorMessage().getMessage())
                                .isEqualTo("canceling statement due to conflict with recovery");
                    });
            // Replay signals every conflicting session, one after the other: the exporter's may arrive a moment after
            // the reader's error, so its statements may still run until then.
            assertThatThrownBy(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (System.nanoTime() < deadline) {
                    single(exporter, "SELECT count(*) FROM pair_test.doomed");
                    Thread.sleep(50);
                }
            }).isInstanceOfSatisfying(PSQLException.class, e -> {
                        report("the exporting session, idle in its transaction", e);
                        // Idle in its transaction when the conflict came, the session is closed (FATAL: a pool must
                        // not hand it out again); still running a statement, the statement is cancelled (ERROR).
                        // Either way its transaction, and the snapshot it exported, are gone.
                        assertThat(e.getSQLState()).isEqualTo("40001");
                        assertThat(e.getServerErrorMessage().getSeverity()).isIn("FATAL", "ERROR");
                        assertThat(e.getServerErrorMessage().getMessage()).isIn(
                                "terminating connection due to conflict with recovery",
                                "canceling statement due to conflict with recovery");
                    });
            try (Connection late = StandbyPair.connectStandby()) {
                late.setAutoCommit(false);
                late.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                assertThatThrownBy(() -> {
                    try (Statement statement = late.createStatement()) {
                        statement.execute("SET TRANSACTION SNAPSHOT '" + exported + "'");
                    }
                }).isInstanceOfSatisfying(PSQLException.class, e -> {
                    report("a new session importing the snapshot", e);
                    // 22023 "invalid snapshot identifier" once the exporter's snapshot file is gone, 55000 "could
                    // not import the requested snapshot" while its process is still ending: never importable again.
                    assertThat(e.getSQLState()).isIn("22023", "55000");
                });
            }
        }
    }

    @Test
    void withFeedbackTheSameReadCompletesBecauseThePrimaryKeepsItsRows() throws Exception {
        StandbyPair.configureStandby(true, Duration.ofSeconds(1));
        fillDoomed();
        Future<Long> read = standbyReader.submit(StandbyPairTest::slowReadOfDoomed);
        awaitSlowRead();
        // The standby reports its oldest snapshot once a second (wal_receiver_status_interval): wait for the report
        // that covers the read before the primary deletes.
        long readerXmin = Long.parseLong(standby.queryForObject("SELECT backend_xmin::text FROM pg_stat_activity "
                + "WHERE query LIKE '%pg_sleep(0.001)%' AND state = 'active' AND pid <> pg_backend_pid()",
                String.class));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        // It lands on the standby's slot, or on its walsender when it streams without one (an external pair).
        while (!primary.queryForObject("SELECT coalesce(bool_or(xmin <= ?), false) FROM ("
                + "SELECT xmin::text::bigint AS xmin FROM pg_replication_slots UNION ALL "
                + "SELECT backend_xmin::text::bigint FROM pg_stat_replication) AS held", Boolean.class, readerXmin)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the primary never heard of the standby read's snapshot (xmin " + readerXmin
                        + ")");
            }
            IntegrationTest.sleep(50);
        }

        primary.update("DELETE FROM pair_test.doomed");
        primary.execute("VACUUM pair_test.doomed");
        assertThat(read.isDone()).as("the read still runs when the primary has vacuumed").isFalse();

        assertThat(read.get(60, TimeUnit.SECONDS)).isEqualTo(SLOW_ROWS);
    }

    @Test
    void aStoppedOrRestartedStandbyCatchesUpWithWhatThePrimaryCommittedMeanwhile() {
        assumeTrue(StandbyPair.isLocal(), "an external standby cannot be stopped from here");
        long started = System.nanoTime();
        StandbyPair.restartStandby();
        System.out.printf(Locale.ROOT, "restartStandby: %d ms%n", (System.nanoTime() - started) / 1_000_000);
        assertThat(standby.queryForObject("SELECT pg_is_in_recovery()", Boolean.class)).isTrue();

        StandbyPair.stopStandby();
        assertThatThrownBy(() -> standby.queryForObject("SELECT 1", Integer.class))
                .hasMessageContaining("Connection");
        primary.update("INSERT INTO pair_test.notes VALUES (5, 'while the standby was down')");
        StandbyPair.startStandby();
        StandbyPair.awaitReplayed();

        assertThat(standby.queryForObject("SELECT note FROM pair_test.notes WHERE id = 5", String.class))
                .isEqualTo("while the standby was down");
    }

    private void fillDoomed() {
        primary.execute("TRUNCATE pair_test.doomed");
        primary.update("INSERT INTO pair_test.doomed SELECT generate_series(1, ?)", SLOW_ROWS);
        // Hint bits and the visibility map set now, so the VACUUM after the DELETE only removes the deleted rows.
        primary.execute("VACUUM pair_test.doomed");
        StandbyPair.awaitReplayed();
    }

    /** Reads every row of pair_test.doomed on the standby, one per millisecond, in one statement. */
    private static long slowReadOfDoomed() throws SQLException {
        try (Connection connection = StandbyPair.connectStandby(); Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery(
                        "SELECT count(*) FROM (SELECT id, pg_sleep(0.001) FROM pair_test.doomed) AS slow")) {
            result.next();
            return result.getLong(1);
        }
    }

    /** Waits until the slow read runs on the standby, its snapshot taken. */
    private void awaitSlowRead() {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (standby.queryForObject("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(0.001)%' "
                + "AND state = 'active' AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()", Long.class) == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the slow read did not start on the standby");
            }
            IntegrationTest.sleep(10);
        }
    }

    private static void report(String who, PSQLException e) {
        System.out.printf(Locale.ROOT, "%s: SQLState %s, severity %s, message \"%s\", detail \"%s\"%n", who,
                e.getSQLState(), e.getServerErrorMessage() == null ? null : e.getServerErrorMessage().getSeverity(),
                e.getServerErrorMessage() == null ? e.getMessage() : e.getServerErrorMessage().getMessage(),
                e.getServerErrorMessage() == null ? null : e.getServerErrorMessage().getDetail());
    }

    private long snapshotConflicts() {
        return standby.queryForObject("SELECT confl_snapshot FROM pg_stat_database_conflicts "
                + "WHERE datname = current_database()", Long.class);
    }

    private static String single(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet result = statement.executeQuery(sql)) {
            result.next();
            return result.getString(1);
        }
    }
}
