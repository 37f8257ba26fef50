package com.cdcexport.export.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.Api;
import com.cdcexport.support.IcebergTables;
import com.cdcexport.support.IcebergTables.Difference;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/**
 * The promise of the Iceberg destination under real crashes (docs/capture.md, "Delivering to an Iceberg table"):
 * a table changes exactly when the consumer's watermark moves, so whatever step of write → Iceberg commit →
 * watermark commit the process dies at, and whoever takes the job over, the table ends holding exactly the rows
 * of the snapshot its last committed export read, and no window is applied twice or skipped.
 *
 * <p>Writers change app.orders all the time (inserts, updates, deletes, re-inserts of deleted keys, transactions
 * left open across exports, rollbacks), each change recorded with its transaction id in a history table in the same
 * statement. That is what makes an exact check possible while they write: the rows a snapshot S sees are, per key,
 * the latest history entry of a transaction visible in S ({@code pg_visible_in_snapshot}), so after every completed
 * export the Iceberg table (read by Iceberg's own catalog and reader) must equal that, key → every column. At the end
 * the writers stop, and after one more export the table must equal the live table itself.
 *
 * <p>The packaged service stops after a step through the test hook CDC_TEST_PAUSE_AFTER ({@link StepPause}); an
 * Iceberg export has no manifest, so its steps are written, published and committed.
 */
class IcebergCrashIT {

    private static final JdbcTemplate jdbc = TestDatabase.jdbc();
    /** Orders before the first export; the writers change keys 1..KEYS, so about as many again get inserted. */
    private static final int ORDERS = 2_000;
    private static final int KEYS = 4_000;
    private static final int WRITERS = 2;
    /** The key only the test changes, just before each export: no window is empty, so every export commits. */
    private static final long TOUCHED = 0;
    private static final String HISTORY = "iceberg_crash.history";
    /** The rows a snapshot (the parameter) saw, from the history: each key's latest change visible in it. */
    private static final String ROWS_AT_SNAPSHOT = "(SELECT DISTINCT ON (id) * FROM " + HISTORY
            + " WHERE pg_visible_in_snapshot(xid, CAST(? AS pg_snapshot)) ORDER BY id, seq DESC) h WHERE NOT deleted";

    @TempDir
    Path output;

    private final AtomicInteger touches = new AtomicInteger();

    @BeforeEach
    void ordersAndTheirHistory() {
        jdbc.execute(TestDatabase.RESET_SQL);
        jdbc.execute("CREATE SCHEMA IF NOT EXISTS iceberg_crash");
        jdbc.execute("CREATE TABLE IF NOT EXISTS " + HISTORY + " (seq BIGSERIAL PRIMARY KEY, "
                + "xid XID8 NOT NULL DEFAULT pg_current_xact_id(), id BIGINT NOT NULL, customer TEXT, "
                + "total NUMERIC(12, 2), status TEXT, placed_at TIMESTAMPTZ, deleted BOOLEAN NOT NULL)");
        jdbc.execute("TRUNCATE " + HISTORY + " RESTART IDENTITY");
        jdbc.update("WITH added AS (INSERT INTO app.orders (id, customer, total, status, placed_at) "
                + "SELECT g, 'Customer ' || g, g * 1.25, 'new', timestamptz '2026-01-01 00:00:00+00' "
                + "+ g * interval '1 minute' FROM generate_series(0, ?) g RETURNING *) " + recorded("added"), ORDERS);
    }

    @AfterAll
    static void dropHistory() {
        jdbc.execute("DROP SCHEMA IF EXISTS iceberg_crash CASCADE");
    }

    /**
     * A full export and then deltas, the process killed (SIGKILL) after each step in turn: after written and
     * published nothing has moved, table or watermark, and the job's second attempt (re-queued by the restarted
     * instance at start-up, or by another instance's reaper) applies the window once; after committed both moved.
     * The killed full export after deltas replaces a table that has equality deletes.
     */
    @Test
    void killedAfterEachStepOfFullAndDeltaExportsTheTableMovesOnlyWithTheWatermarkAndEndsEqualToTheLiveTable()
            throws Exception {
        String consumer = "lake";
        List<Export> stops = List.of(new Export("full", StepPause.Step.WRITTEN),
                new Export("delta", StepPause.Step.WRITTEN), new Export("delta", StepPause.Step.PUBLISHED),
                new Export("delta", StepPause.Step.COMMITTED), new Export("full", StepPause.Step.PUBLISHED));
        Writers writers = new Writers();
        try (writers) {
            Exported killed = null;
            Applied applied = null;
            for (int i = 0; i < stops.size(); i++) {
                Export stop = stops.get(i);
                // Every second start is the same instance again (it re-queues its own job at start-up), the others
                // a new one (its reaper queues the dead instance's job once it has been silent EXPORT_STALE_AFTER).
                Map<String, String> env = environment("lake-" + (i + 1) / 2);
                env.put(StepPause.VARIABLE, stop.step.name().toLowerCase(Locale.ROOT));
                try (ServiceProcess service = ServiceProcess.start(env)) {
                    if (killed != null && killed.export.step != StepPause.Step.COMMITTED) {
                        assertThat(TestDatabase.awaitJob(killed.jobId)).as(killed + ": " + service.log())
                                .isEqualTo("completed");
                        applied = assertAppliedExactly(consumer, killed, 2);
                    }
                    touch();
                    killed = export(service, consumer, stop);
                    service.awaitLog("Paused after step " + stop.step.name().toLowerCase(Locale.ROOT) + " of job "
                            + killed.jobId);
                    writers.awaitMore(20);
                    service.kill();
                }
                writers.awaitMore(20);
                if (stop.step == StepPause.Step.COMMITTED) {
                    applied = assertAppliedExactly(consumer, killed, 1);
                } else {
                    assertThat(TestDatabase.jobStatus(killed.jobId)).as(killed.toString()).isEqualTo("running");
                    assertNothingMovedSince(consumer, applied, killed);
                }
            }
            try (ServiceProcess service = ServiceProcess.start(environment("lake-" + (stops.size() + 1) / 2))) {
                if (killed.export.step != StepPause.Step.COMMITTED) {
                    assertThat(TestDatabase.awaitJob(killed.jobId)).as(service.log()).isEqualTo("completed");
                    assertAppliedExactly(consumer, killed, 2);
                }
                for (int i = 0; i < 2; i++) {
                    assertAppliedExactly(consumer, exportToCompletion(service, consumer, "delta"), 1);
                }
                writers.close();
                assertAppliedExactly(consumer, exportToCompletion(service, consumer, "delta"), 1);
                assertEqualsLiveTable(consumer);
                assertEachExportAppliedOnceInOrder(consumer);
            }
        }
        writers.report(consumer);
    }

    /**
     * Instance A stops a delta after a step and freezes (SIGSTOP: no heartbeats). Instance B's reaper queues the
     * job again, B runs it (attempt 2) and then the next delta. A wakes (SIGCONT), goes on from its step, finds at
     * its commit that the job is no longer its own and fails: the table keeps B's state, no snapshot of A's
     * attempt exists, and each window is in the table's history exactly once, in order.
     */
    @ParameterizedTest(name = "frozen after {0}")
    @ValueSource(strings = {"written", "published"})
    void aRunnerFrozenAfterAStepAndWokenAfterATakeoverNeverAppliesAWindowTwiceOrSkipsOne(String step)
            throws Exception {
        String consumer = "takeover-" + step;
        Map<String, String> a = environment("frozen-a");
        a.put(StepPause.VARIABLE, step);
        Writers writers = new Writers();
        try (writers) {
            ServiceProcess[] instances = ServiceProcess.startTogether(a, environment("takeover-b"));
            try (ServiceProcess first = instances[0]; ServiceProcess second = instances[1]) {
                // A stops every first attempt it runs: the full export runs on B while A is frozen.
                first.suspend();
                assertAppliedExactly(consumer, exportToCompletion(second, consumer, "full"), 1);
                first.resume();
                second.suspend();
                touch();
                Exported delta = export(first, consumer, new Export("delta", StepPause.Step.valueOf(
                        step.toUpperCase(Locale.ROOT))));
                first.awaitLog("Paused after step " + step + " of job " + delta.jobId);
                first.suspend();
                second.resume();

                assertThat(TestDatabase.awaitJob(delta.jobId)).as(second.log()).isEqualTo("completed");
                assertThat(jdbc.queryForObject("SELECT instance_id FROM export_jobs WHERE id = ?", String.class,
                        UUID.fromString(delta.jobId))).isEqualTo("takeover-b");
                assertAppliedExactly(consumer, delta, 2);
                // A later window on top: were A's stale attempt to commit now, it would take keys back to their
                // values of its older snapshot.
                writers.awaitMore(20);
                Exported next = exportToCompletion(second, consumer, "delta");
                assertAppliedExactly(consumer, next, 1);
                long current = table(consumer).currentSnapshot().snapshotId();

                first.resume();
                first.awaitLog("\"event\":\"export_failed\",\"jobId\":\"" + delta.jobId + "\"");
                assertThat(table(consumer).currentSnapshot().snapshotId()).as("A changed nothing").isEqualTo(current);
                assertAppliedExactly(consumer, next, 1);
                assertThat(jdbc.queryForMap("SELECT status, attempts FROM export_jobs WHERE id = ?",
                        UUID.fromString(delta.jobId))).as("B's attempt stands").containsEntry("status", "completed")
                        .containsEntry("attempts", 2);
                // No job for A any more (it would stop a new job's first attempt): only B exports from here on.
                first.kill();

                writers.close();
                assertAppliedExactly(consumer, exportToCompletion(second, consumer, "delta"), 1);
                assertEqualsLiveTable(consumer);
                assertEachExportAppliedOnceInOrder(consumer);
            }
        }
        writers.report(consumer);
    }

    /**
     * SIGTERM while an Iceberg export runs: the service drains it (EXPORT_SHUTDOWN_GRACE) and it commits, table and
     * watermark together, before the process exits, as a file export does. The export is held on a lock of
     * app.orders until the shutdown has begun. Iceberg's shared worker pool is shut down by a JVM shutdown hook of
     * its own the moment the signal arrives; a commit that used it was rejected and the drained export failed.
     */
    @Test
    void sigtermLetsARunningIcebergExportCommitBeforeTheProcessExits() throws Exception {
        String consumer = "drained";
        Map<String, String> env = environment("drained");
        env.put("EXPORT_SHUTDOWN_GRACE", "60s");
        Exported delta;
        try (ServiceProcess service = ServiceProcess.start(env)) {
            assertAppliedExactly(consumer, exportToCompletion(service, consumer, "full"), 1);
            touch();
            try (Connection lock = TestDatabase.connect()) {
                lock.setAutoCommit(false);
                try (PreparedStatement statement = lock.prepareStatement("LOCK TABLE app.orders IN ACCESS EXCLUSIVE "
                        + "MODE")) {
                    statement.execute();
                }
                delta = export(service, consumer, new Export("delta", null));
                TestDatabase.awaitStatus(delta.jobId, "running");
                awaitUntil("the export waits for app.orders", () -> jdbc.queryForObject("SELECT count(*) FROM "
                        + "pg_locks WHERE relation = 'app.orders'::regclass AND NOT granted", Long.class) > 0);
                service.sendTerminate();
                // The JVM starts every shutdown hook when the signal arrives, Iceberg's among them, while the service
                // keeps answering until its exports have drained: nothing to wait for but a moment.
                IntegrationTest.sleep(2_000);
                lock.rollback();
            }
            assertThat(service.awaitExit(Duration.ofSeconds(90))).as(service.log()).isIn(0, 143);
            assertThat(TestDatabase.jobStatus(delta.jobId)).as(service.log()).isEqualTo("completed");
        }
        assertAppliedExactly(consumer, delta, 1);
    }

    private static void awaitUntil(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never: " + what);
            }
            IntegrationTest.sleep(20);
        }
    }

    private Map<String, String> environment(String instance) {
        return new HashMap<>(Map.of("EXPORT_OUTPUT_DIR", output.toString(), "INSTANCE_ID", instance,
                "EXPORT_TABLES", TestDatabase.EXPORT_TABLES, "EXPORT_HEARTBEAT_INTERVAL", "1s",
                "EXPORT_STALE_AFTER", "3s"));
    }

    private record Export(String type, StepPause.Step step) {
    }

    private record Exported(Export export, String jobId) {
    }

    /** The export the table and watermark must be at, and the attempt that committed it. */
    private record Applied(Exported exported, int attempt) {
    }

    private Exported export(ServiceProcess service, String consumer, Export export) {
        Api.Response started = service.api().post("/exports/" + export.type + "?format=iceberg&table=app.orders",
                consumer);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        return new Exported(export, started.field("jobId"));
    }

    private Exported exportToCompletion(ServiceProcess service, String consumer, String type) {
        touch();
        Exported exported = export(service, consumer, new Export(type, null));
        assertThat(TestDatabase.awaitJob(exported.jobId)).as(service.log()).isEqualTo("completed");
        return exported;
    }

    /** One committed change of the key only the test writes, so the next export's window is not empty. */
    private void touch() {
        jdbc.update("WITH touched AS (UPDATE app.orders SET status = ?, total = total + 1 WHERE id = ? RETURNING *) "
                + recorded("touched"), "touch " + touches.incrementAndGet(), TOUCHED);
    }

    /** Records the rows a data-modifying CTE returned in the history, in the same statement (so transaction). */
    private static String recorded(String cte) {
        return "INSERT INTO " + HISTORY + " (id, customer, total, status, placed_at, deleted) "
                + "SELECT id, customer, total, status, placed_at, FALSE FROM " + cte;
    }

    private Optional<Table> findTable(String consumer) {
        // ICEBERG_WAREHOUSE is not set: the tables are under EXPORT_OUTPUT_DIR/iceberg.
        return IcebergTables.load(output.resolve("iceberg"), consumer + ".app_orders");
    }

    private Table table(String consumer) {
        return findTable(consumer).orElseThrow(() -> new AssertionError("no Iceberg table " + consumer
                + ".app_orders"));
    }

    private static Optional<String> watermark(String consumer) {
        return jdbc.queryForList("SELECT snapshot::text FROM watermarks WHERE consumer_id = ? AND table_name = "
                + "'app.orders'", String.class, consumer).stream().findFirst();
    }

    /**
     * The job completed by {@code attempt}; the consumer's watermark is its snapshot S; the Iceberg table's current
     * snapshot was made by that attempt and records S; and the table holds exactly the rows S saw.
     */
    private Applied assertAppliedExactly(String consumer, Exported exported, int attempt) {
        String what = exported + " of " + consumer;
        Map<String, Object> job = jdbc.queryForMap("SELECT status, attempts, snapshot FROM export_jobs WHERE id = ?",
                UUID.fromString(exported.jobId));
        assertThat(job.get("status")).as(what).isEqualTo("completed");
        assertThat(job.get("attempts")).as(what).isEqualTo(attempt);
        String snapshot = (String) job.get("snapshot");
        assertThat(watermark(consumer)).as(what + ": the watermark").contains(snapshot);
        Table table = table(consumer);
        assertThat(table.currentSnapshot()).as(what + ": a committed Iceberg snapshot").isNotNull();
        assertThat(table.currentSnapshot().summary()).as(what + ": the table's current snapshot")
                .containsEntry("cdc.job-id", exported.jobId).containsEntry("cdc.attempt", String.valueOf(attempt))
                .containsEntry("cdc.snapshot", snapshot);
        Difference difference = IcebergTables.compare(IcebergTables.read(table),
                IcebergTables.query(jdbc, table, ROWS_AT_SNAPSHOT, snapshot));
        assertThat(difference.none()).as(what + ": the table against the rows its snapshot saw: " + difference)
                .isTrue();
        return new Applied(exported, attempt);
    }

    /** Killed before its commit: the watermark and the table are still where the last committed export left them. */
    private void assertNothingMovedSince(String consumer, Applied applied, Exported killed) {
        if (applied != null) {
            assertAppliedExactly(consumer, applied.exported, applied.attempt);
            return;
        }
        assertThat(watermark(consumer)).as(killed + ": no watermark before the first commit").isEmpty();
        // The first export creates its table, empty, when it starts writing: no snapshot until it commits.
        findTable(consumer).ifPresent(table ->
                assertThat(table.currentSnapshot()).as(killed + ": no Iceberg snapshot before the commit").isNull());
    }

    /** With the writers stopped and a last export committed: the Iceberg table is the live table, exactly. */
    private void assertEqualsLiveTable(String consumer) {
        Table table = table(consumer);
        IcebergTables.Contents contents = IcebergTables.read(table);
        Map<String, String> live = IcebergTables.query(jdbc, table, "app.orders");
        Difference difference = IcebergTables.compare(contents, live);
        System.out.printf(Locale.ROOT, "ICEBERG-CRASH consumer=%s rows=%d lost=%d duplicated=%d phantom=%d%n",
                consumer, contents.rows().size(), difference.lost(), difference.duplicated(), difference.phantom());
        assertThat(difference.lost()).as("lost: " + difference).isZero();
        assertThat(difference.duplicated()).as("duplicated: " + difference).isZero();
        assertThat(difference.phantom()).as("phantom: " + difference).isZero();
        assertThat(live).as("the history's latest rows are the live table: the exact checks' premise")
                .isEqualTo(IcebergTables.query(jdbc, table, "(SELECT DISTINCT ON (id) * FROM " + HISTORY
                        + " ORDER BY id, seq DESC) h WHERE NOT deleted"));
    }

    /**
     * The table's history, first snapshot to current, is the consumer's completed exports in commit order, each
     * once, made by the attempt that completed it, from the snapshot the export before it ended at (every window had
     * a change, so every export committed a snapshot). A window applied twice would repeat an export or its start; a
     * window skipped would start where no export ended.
     */
    private void assertEachExportAppliedOnceInOrder(String consumer) {
        List<String> exports = new ArrayList<>();
        String previous = "none";
        for (Map<String, Object> job : jdbc.queryForList("SELECT id::text AS id, attempts, snapshot FROM export_jobs "
                + "WHERE consumer_id = ? AND status = 'completed' ORDER BY finished_at", consumer)) {
            exports.add("job " + job.get("id") + " attempt " + job.get("attempts") + " from " + previous + " to "
                    + job.get("snapshot"));
            previous = (String) job.get("snapshot");
        }
        List<String> snapshots = new ArrayList<>();
        for (Snapshot snapshot : IcebergTables.lineage(table(consumer))) {
            Map<String, String> summary = snapshot.summary();
            snapshots.add("job " + summary.get("cdc.job-id") + " attempt " + summary.get("cdc.attempt") + " from "
                    + summary.getOrDefault("cdc.previous-snapshot", "none") + " to " + summary.get("cdc.snapshot"));
        }
        assertThat(snapshots).as("the Iceberg table's history").containsExactlyElementsOf(exports);
    }

    /**
     * Writers of app.orders, each on its own connection and its own keys (id modulo the writer count), so each key's
     * changes are ordered in the history as they committed. Transactions of one to four changes; now and then one
     * stays open across an export's snapshot before it commits or rolls back.
     */
    private static final class Writers implements AutoCloseable {

        private final AtomicBoolean writing = new AtomicBoolean(true);
        private final AtomicLong committed = new AtomicLong();
        private final List<Thread> threads = new ArrayList<>();
        private volatile Throwable failure;

        Writers() {
            for (int w = 0; w < WRITERS; w++) {
                int own = w;
                Thread thread = new Thread(() -> write(own), "orders-writer-" + w);
                thread.start();
                threads.add(thread);
            }
        }

        private void write(int own) {
            try (Connection connection = TestDatabase.connect()) {
                connection.setAutoCommit(false);
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (writing.get()) {
                    int changes = 0;
                    for (int i = 1 + random.nextInt(4); i > 0; i--) {
                        changes += change(connection, random, own + 1 + (long) WRITERS * random.nextInt(KEYS / WRITERS));
                    }
                    boolean late = random.nextInt(100) < 5;
                    if (late) {
                        IntegrationTest.sleep(random.nextInt(200, 1_500));
                    }
                    if (late && random.nextInt(4) == 0) {
                        connection.rollback();
                    } else {
                        connection.commit();
                        committed.addAndGet(changes);
                    }
                    IntegrationTest.sleep(random.nextInt(1, 10));
                }
            } catch (Throwable e) {
                failure = e;
            }
        }

        /** Inserts (a deleted key's too: a re-insert), updates or deletes the row of {@code id}, if it can. */
        private static int change(Connection connection, ThreadLocalRandom random, long id) throws SQLException {
            int kind = random.nextInt(100);
            if (kind < 35) {
                BigDecimal total = random.nextInt(20) == 0 ? null : BigDecimal.valueOf(random.nextInt(1_000_000), 2);
                return execute(connection, "WITH added AS (INSERT INTO app.orders (id, customer, total, status) "
                        + "VALUES (?, ?, ?, 'new') ON CONFLICT (id) DO NOTHING RETURNING *) " + recorded("added"),
                        id, "Customer " + random.nextInt(1_000), total);
            }
            if (kind < 75) {
                return execute(connection, "WITH changed AS (UPDATE app.orders SET status = ?, total = total + 1 "
                        + "WHERE id = ? RETURNING *) " + recorded("changed"), "status " + random.nextInt(1_000), id);
            }
            return execute(connection, "WITH gone AS (DELETE FROM app.orders WHERE id = ? RETURNING id) INSERT INTO "
                    + HISTORY + " (id, deleted) SELECT id, TRUE FROM gone", id);
        }

        private static int execute(Connection connection, String sql, Object... parameters) throws SQLException {
            try (PreparedStatement statement = connection.prepareStatement(sql)) {
                for (int i = 0; i < parameters.length; i++) {
                    statement.setObject(i + 1, parameters[i]);
                }
                return statement.executeUpdate();
            }
        }

        /** Waits until {@code changes} more changes are committed: exports and kills happen amid writes. */
        void awaitMore(long changes) {
            long target = committed.get() + changes;
            while (committed.get() < target) {
                if (failure != null) {
                    throw new IllegalStateException("a writer failed", failure);
                }
                IntegrationTest.sleep(5);
            }
        }

        @Override
        public void close() throws InterruptedException {
            writing.set(false);
            for (Thread thread : threads) {
                thread.join();
            }
            if (failure != null) {
                throw new IllegalStateException("a writer failed", failure);
            }
        }

        /** What the writers did: the test is only as good as the changes it saw. */
        void report(String consumer) {
            // A re-insert is an insert whose key's change before it was its delete.
            Map<String, Object> counts = jdbc.queryForMap("SELECT count(*) FILTER (WHERE deleted) AS deletes, "
                    + "count(*) FILTER (WHERE NOT deleted AND before_deleted) AS reinserts FROM (SELECT deleted, "
                    + "lag(deleted) OVER (PARTITION BY id ORDER BY seq) AS before_deleted FROM " + HISTORY + ") h");
            System.out.printf(Locale.ROOT, "ICEBERG-CRASH consumer=%s changes=%d deletes=%s reinserts=%s%n", consumer,
                    committed.get(), counts.get("deletes"), counts.get("reinserts"));
            assertThat((Long) counts.get("reinserts")).as("deleted keys inserted again").isPositive();
        }
    }
}
