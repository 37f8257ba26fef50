package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.EncodedOutput;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.Read;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableAccess;
import com.cdcexport.export.model.TableName;
import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LogicalDatabase;
import com.cdcexport.support.StandbyPair;

/**
 * Exports read on a real hot standby (DATABASE_READ_URL) of a real primary, with replay paused while writers commit
 * on the primary: the race of docs/capture.md, "Reading from a standby". A watermark the standby has not replayed
 * must hold the export back, never let it read an older state and lose what the watermark already saw.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"cdc.seed-users=0", "cdc.export-tables=users,app.orders,app.order_lines:logical",
                "cdc.standby.catch-up-timeout=8s", "cdc.parallel.min-rows=1000", "cdc.parallel.parallelism=2",
                "cdc.auth.admin-token=" + StandbyReadTest.ADMIN_TOKEN})
@ActiveProfiles("test")
class StandbyReadTest {

    static final String ADMIN_TOKEN = "standby-read-admin-token-7c2e9a4b1d8f3e6a5b0c";
    private static final Path OUTPUT = createOutput();

    @LocalServerPort
    int port;

    @Autowired
    SnapshotReader reader;

    @Autowired
    CapturedTables captured;

    @Autowired
    ParallelCopy parallel;

    private final JdbcTemplate primary = StandbyPair.primaryJdbc();
    private final JdbcTemplate standby = StandbyPair.standbyJdbc();
    private Api api;

    @DynamicPropertySource
    static void databases(DynamicPropertyRegistry registry) {
        registry.add("cdc.database-url", StandbyPair::primaryUrl);
        registry.add("cdc.standby.read-url", StandbyPair::standbyUrl);
        registry.add("cdc.output-dir", OUTPUT::toString);
    }

    @BeforeEach
    void cleanSlate() {
        api = new Api(port);
        primary.execute("DELETE FROM app.orders");
        primary.execute("DELETE FROM app.order_lines");
        LogicalDatabase.awaitDecoded(primary);
        primary.execute("TRUNCATE cdc.change_log, cdc.watermarks, cdc.export_jobs, cdc.held_rows, "
                + "cdc.held_rows_pending, cdc.consumer_tables");
        StandbyPair.awaitReplayed();
    }

    @AfterEach
    void replayGoesOn() {
        if (StandbyPair.replayPauseState().equals("paused")) {
            StandbyPair.resumeReplay();
        }
    }

    @Test
    void anExportWaitsForTheStandbyToReplayItsWatermarkThenSendsWhatItMissedExactlyOnce() throws Exception {
        insertOrders(1, 3);
        StandbyPair.awaitReplayed();
        Export first = export("delta", "lake");
        assertThat(first.status()).isEqualTo("completed");
        assertThat(first.manifest().path("readFrom").asString()).isEqualTo("standby-1");
        assertThat(first.lines()).hasSize(4).allMatch(l -> l.equals("operation,id,customer,total,status,placed_at")
                || l.startsWith("INSERT,"));

        // The watermark (S of the first export) is committed on the primary; the standby stops replaying, then
        // writers commit changes the standby cannot see.
        StandbyPair.pauseReplay();
        primary.update("INSERT INTO app.orders (id, customer, total) VALUES (4, 'Dee', 4)");
        primary.update("UPDATE app.orders SET status = 'paid' WHERE id = 1");
        primary.update("DELETE FROM app.orders WHERE id = 2");
        // The paused standby sees none of them: an export that read it now would read an older state than the
        // moment it was asked for.
        assertThat(standby.queryForObject("SELECT count(*) FROM app.orders WHERE id = 4", Long.class)).isZero();

        String jobId = post("delta", "lake");
        IntegrationTest.sleep(1500);
        assertThat(status(jobId)).as("held back while the standby has not replayed the claim").isEqualTo("running");
        assertThat(api.get("/actuator/prometheus", null).body()).contains("cdc_export_standby_waiting 1.0");
        assertThat(api.get("/exports/jobs/" + jobId, "lake").field("waitingFor")).as("the job says why it waits")
                .isEqualTo("standby");
        // Other instances' API reads what the heartbeat wrote.
        long heartbeat = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!"standby".equals(primary.queryForObject("SELECT waiting_for FROM cdc.export_jobs WHERE id = ?::uuid",
                String.class, jobId))) {
            assertThat(System.nanoTime()).as("a heartbeat writes what the job waits for").isLessThan(heartbeat);
            IntegrationTest.sleep(100);
        }
        StandbyPair.resumeReplay();
        Export second = awaitExport(jobId, "lake");
        assertThat(api.get("/exports/jobs/" + jobId, "lake").json().path("waitingFor").isNull()).isTrue();

        assertThat(second.status()).isEqualTo("completed");
        assertThat(second.manifest().path("readFrom").asString()).isEqualTo("standby-1");
        assertThat(api.get("/actuator/prometheus", null).body()).contains("cdc_export_standby_waiting 0.0")
                .contains("cdc_export_reads_total{database=\"standby-1\"}")
                .containsPattern("cdc_standby_replay_lag_bytes\\{database=\"standby-1\"\\} [0-9.E]+");
        List<String> rows = second.lines().subList(1, second.lines().size());
        assertThat(rows).as("each change once, nothing before the watermark again")
                .extracting(l -> l.split(",")[0] + "," + l.split(",")[1])
                .containsExactly("UPDATE,1", "DELETE,2", "INSERT,4");
        assertThat(rows.get(0)).contains("\"paid\"");
    }

    /**
     * A transaction that is still running on the primary when an export takes its snapshot on the standby: the
     * standby's pg_current_snapshot() reports it as finished (PostgreSQL lists a recovery snapshot's running xids in
     * an array it does not print), so a watermark with that text would skip its changes once it commits. The text the
     * export stores says it is running, and the next export sends its change.
     */
    @Test
    void aTransactionRunningWhileTheStandbyExportsIsSentOnceItCommits() throws Exception {
        insertOrders(1, 2);
        StandbyPair.awaitReplayed();
        assertThat(export("delta", "late").lines()).hasSize(3);

        try (Connection running = StandbyPair.connectPrimary()) {
            running.setAutoCommit(false);
            long x;
            try (Statement sql = running.createStatement()) {
                sql.execute("INSERT INTO app.orders (id, customer, total) VALUES (100, 'Late', 1)");
                ResultSet xid = sql.executeQuery("SELECT pg_current_xact_id()::text::bigint");
                xid.next();
                x = xid.getLong(1);
            }
            insertOrders(101, 101);   // commits after x started: the standby knows x and sees it running
            StandbyPair.awaitReplayed();
            try (Connection reading = StandbyPair.connectStandby()) {
                reading.setAutoCommit(false);
                reading.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                Snapshot reported = new Snapshot(single(reading, "SELECT pg_current_snapshot()::text"));
                assertThat(single(reading, "SELECT pg_visible_in_snapshot('" + x + "'::xid8, '" + reported.text()
                        + "')")).as("the standby reports " + reported.text() + ": x finished").isEqualTo("t");
                Snapshot exact = StandbySnapshot.exact(reading, reported, List.of(Long.parseLong(
                        single(reading, "SELECT 'app.orders'::regclass::oid::text"))));
                assertThat(single(reading, "SELECT pg_visible_in_snapshot('" + x + "'::xid8, '" + exact.text()
                        + "')")).as("the export's text " + exact.text() + ": x running").isEqualTo("f");
                reading.rollback();
            }

            Export during = export("delta", "late");
            assertThat(during.lines()).extracting(l -> l.split(",")[0] + "," + l.split(",")[1])
                    .containsExactly("operation,id", "INSERT,101");
            running.commit();
        }
        StandbyPair.awaitReplayed();
        Export after = export("delta", "late");
        assertThat(after.lines()).extracting(l -> l.split(",")[0] + "," + l.split(",")[1])
                .containsExactly("operation,id", "INSERT,100");
    }

    private static String single(Connection connection, String sql) throws Exception {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * The watermark P came from the primary (an export read there before DATABASE_READ_URL was set, or on a standby
     * further ahead) and the standby has not replayed it. Read there now, the window "visible in S, not in P" would be
     * empty and the watermark would move back to S, so the next export would send again what P already had.
     */
    @Test
    void aWatermarkAheadOfTheStandbyNeverMovesBackwardsNorSendsAChangeTwice() {
        insertOrders(1, 3);
        StandbyPair.awaitReplayed();
        assertThat(export("delta", "ahead").lines()).hasSize(4);

        StandbyPair.pauseReplay();
        primary.update("UPDATE app.orders SET status = 'paid' WHERE id = 1");
        // As if an export on the primary had just sent that update: the watermark is the primary's snapshot now.
        primary.update("UPDATE cdc.watermarks SET snapshot = pg_current_snapshot() WHERE consumer_id = 'ahead'");
        String p = watermark("ahead");
        String jobId = post("delta", "ahead");
        IntegrationTest.sleep(1500);
        assertThat(status(jobId)).as("the standby has not replayed P").isEqualTo("running");
        StandbyPair.resumeReplay();
        Export second = awaitExport(jobId, "ahead");

        assertThat(second.lines()).as("P had the update already").containsExactly(
                "operation,id,customer,total,status,placed_at");
        assertThat(primary.queryForObject("SELECT pg_snapshot_xmax(snapshot) >= pg_snapshot_xmax(?::pg_snapshot) "
                + "FROM cdc.watermarks WHERE consumer_id = 'ahead'", Boolean.class, p)).as("not backwards").isTrue();
        assertThat(export("delta", "ahead").lines()).as("and never again").hasSize(1);
    }

    @Test
    void withNoStandbyCaughtUpInTimeTheJobFailsAndNoWatermarkMoves() {
        insertOrders(1, 2);
        StandbyPair.awaitReplayed();
        assertThat(export("incremental", "mart").status()).isEqualTo("completed");
        String before = watermark("mart");

        StandbyPair.pauseReplay();
        primary.update("UPDATE app.orders SET total = 99 WHERE id = 1");
        String jobId = post("incremental", "mart");
        String finished = awaitStatus(jobId);

        assertThat(finished).isEqualTo("failed");
        assertThat(primary.queryForObject("SELECT error FROM cdc.export_jobs WHERE id = ?::uuid", String.class,
                jobId)).isEqualTo("The database copy exports are read from had not caught up with this export's moment "
                + "in time: nothing was exported; export again later");
        assertThat(primary.queryForObject("SELECT error_detail FROM cdc.export_jobs WHERE id = ?::uuid", String.class,
                jobId)).contains("no standby of DATABASE_READ_URL had replayed").contains("standby-1");
        assertThat(watermark("mart")).isEqualTo(before);
        StandbyPair.resumeReplay();
        Export retried = export("incremental", "mart");
        assertThat(retried.lines()).hasSize(2).last().asString().startsWith("1,").contains("99.00");
    }

    @Test
    void aFilteredConsumersHeldRowsAreStagedOnThePrimaryAndItsDeltasStayExact() throws Exception {
        Api.Response rule = api.send("PUT", "/consumers/paid-only/tables/app.orders",
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN, "Content-Type", "application/json"),
                "{\"filter\": [{\"column\": \"status\", \"op\": \"=\", \"value\": \"paid\"}]}");
        assertThat(rule.status()).as(rule.body()).isEqualTo(200);
        insertOrders(1, 3);
        primary.update("UPDATE app.orders SET status = 'paid' WHERE id IN (1, 2)");
        StandbyPair.awaitReplayed();
        Export first = export("delta", "paid-only");
        assertThat(first.lines()).hasSize(3);
        assertThat(primary.queryForList("SELECT key::text FROM cdc.held_rows WHERE consumer_id = 'paid-only' "
                + "ORDER BY 1", String.class)).containsExactly("[1]", "[2]");

        primary.update("UPDATE app.orders SET status = 'new' WHERE id = 1");   // leaves the filter
        primary.update("UPDATE app.orders SET status = 'paid' WHERE id = 3");  // enters it
        primary.update("UPDATE app.orders SET total = 50 WHERE id = 2");      // changes inside it
        StandbyPair.awaitReplayed();
        Export second = export("delta", "paid-only");

        assertThat(second.manifest().path("readFrom").asString()).isEqualTo("standby-1");
        assertThat(second.lines().subList(1, second.lines().size())).extracting(l -> l.split(",")[0] + l.split(",")[1])
                .containsExactly("DELETE1", "UPDATE2", "INSERT3");
        assertThat(primary.queryForList("SELECT key::text FROM cdc.held_rows WHERE consumer_id = 'paid-only' "
                + "ORDER BY 1", String.class)).containsExactly("[2]", "[3]");
        assertThat(primary.queryForObject("SELECT count(*) FROM cdc.held_rows_pending", Long.class)).isZero();
    }

    @Test
    void aParallelFullExportOnTheStandbyIsTheSameFileAsOnThePrimary() throws Exception {
        primary.update("INSERT INTO app.orders (id, customer, total) SELECT g, 'Customer ' || g, g FROM "
                + "generate_series(1, 5000) g");
        StandbyPair.awaitReplayed();
        Export onStandby = export("full", "parallel");
        assertThat(onStandby.manifest().path("readFrom").asString()).isEqualTo("standby-1");
        assertThat(onStandby.lines()).hasSize(5001);
        assertThat(primary.queryForObject("SELECT count(*) FROM cdc.export_jobs WHERE status = 'completed'",
                Long.class)).isEqualTo(1);
        List<String> expected = primary.queryForList("SELECT id || ',\"Customer ' || id || '\",' || total || "
                + "',\"new\"' FROM app.orders ORDER BY id", String.class);
        assertThat(onStandby.lines().subList(1, 5001)).extracting(l -> l.substring(0, l.lastIndexOf(',')))
                .isEqualTo(expected);
    }

    /**
     * A standby that goes away mid-read (here: restarted, its sessions cut) loses the read as a
     * {@link StandbyReadLostException}, the signal the pipeline reads again on; the next read, which the pipeline
     * opens with that standby to avoid, still finds it (the only one) once it is back, and reads it whole.
     */
    @Test
    void aReadCutShortByTheStandbyIsLostAsSuchAndTheNextReadSucceeds() throws Exception {
        insertOrders(1, 10);
        StandbyPair.awaitReplayed();
        // The plan of a job the standby has replayed (its claim is what a read there waits for).
        String jobId = export("full", "restart-job").jobId();
        ExportPlan plan = new ExportPlan(UUID.fromString(jobId), 1, new ConsumerId("restart"), ExportType.FULL,
                ExportFormat.CSV, List.of(new TablePlan(TableName.parse("app.orders").orElseThrow(),
                        Read.WHOLE_TABLE, Optional.empty(), TableAccess.ALL, "orders.csv")), Optional.empty(),
                Instant.now());

        try (SnapshotReader.SnapshotRead read = reader.open(plan, new ExportProgress())) {
            StandbyPair.restartStandby();
            assertThatThrownBy(() -> read.tables().get(0).copyTo(new ByteArrayOutputStream()))
                    .isInstanceOf(StandbyReadLostException.class)
                    .satisfies(e -> assertThat(((StandbyReadLostException) e).standby()).isEqualTo("standby-1"));
        }
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        try (SnapshotReader.SnapshotRead read = reader.open(plan, new ExportProgress(), Set.of("standby-1"))) {
            read.tables().get(0).copyTo(again);
            assertThat(read.finish().readFrom()).isEqualTo("standby-1");
        }
        assertThat(again.toString(StandardCharsets.UTF_8).lines()).hasSize(11);
    }

    /**
     * The race of docs/capture.md, "Log-based capture on a standby": a source transaction commits and the standby
     * replays it, the export's snapshot S on the standby sees its row, and only then does the decoder log its entry.
     * A full export's watermark must count the transaction as seen, so the next delta does not send it again, and a
     * delta's window must still carry it: with the entries read on the standby once it has replayed them, and with
     * replay stopped after S was taken (as a recovery conflict over S would stop it), read on the primary.
     */
    @Test
    void aLogicallyCapturedChangeTheDecoderLogsAfterTheStandbysSnapshotIsExportedExactlyOnce() throws Exception {
        StandbyPair.configureStandby(true, StandbyPair.DEFAULT_STREAMING_DELAY);
        try {
            primary.update("INSERT INTO app.order_lines VALUES (1, 1, 'a', 1)");
            double onStandby = entriesReads("standby-1");
            Export full = withDecoderHeldBack(() -> primary.update("INSERT INTO app.order_lines VALUES (1, 2, 'b', 2)"),
                    "full", false);
            assertThat(entriesReads("standby-1")).as("the entries read on the standby").isEqualTo(onStandby + 1);
            assertThat(full.manifest().path("readFrom").asString()).isEqualTo("standby-1");
            assertThat(full.lines()).containsExactly("order_id,line_no,sku,qty", "1,1,\"a\",1", "1,2,\"b\",2");
            assertThat(exportLines("delta", "lines").lines()).as("the full export had both rows")
                    .containsExactly("operation,order_id,line_no,sku,qty");

            double onPrimary = entriesReads("primary");
            Export delta = withDecoderHeldBack(() -> {
                primary.update("INSERT INTO app.order_lines VALUES (1, 3, 'c', 3)");
                primary.update("UPDATE app.order_lines SET qty = 10 WHERE line_no = 1");
                primary.update("DELETE FROM app.order_lines WHERE line_no = 2");
            }, "delta", true);
            assertThat(entriesReads("primary")).as("replay stopped: the entries read on the primary")
                    .isEqualTo(onPrimary + 1);
            assertThat(delta.manifest().path("readFrom").asString()).isEqualTo("standby-1");
            assertThat(delta.lines()).containsExactly("operation,order_id,line_no,sku,qty", "UPDATE,1,1,\"a\",10",
                    "DELETE,1,2,,", "INSERT,1,3,\"c\",3");

            // Without hot_standby_feedback replay may wait for S: the entries are read on the primary at once.
            StandbyPair.configureStandby(false, StandbyPair.DEFAULT_STREAMING_DELAY);
            onPrimary = entriesReads("primary");
            Export again = withDecoderHeldBack(() -> primary.update("UPDATE app.order_lines SET qty = 11 WHERE "
                    + "line_no = 3"), "delta", false);
            assertThat(entriesReads("primary")).isEqualTo(onPrimary + 1);
            assertThat(again.lines()).containsExactly("operation,order_id,line_no,sku,qty", "UPDATE,1,3,\"c\",11");
            assertThat(exportLines("delta", "lines").lines()).as("and never again").hasSize(1);
        } finally {
            StandbyPair.configureStandby(false, StandbyPair.DEFAULT_STREAMING_DELAY);
        }
    }

    /**
     * Runs {@code changes} on the primary while the decoder cannot log them, lets the standby replay them, asks for
     * an export of app.order_lines for consumer "lines", and once the export has taken its snapshot and waits for
     * the decoder, lets the decoder go on, with replay paused meanwhile if {@code pause} says so: the export then
     * completes all the same.
     */
    private Export withDecoderHeldBack(Runnable changes, String type, boolean pause) throws Exception {
        String jobId;
        try (Connection blocker = StandbyPair.connectPrimary()) {
            blocker.setAutoCommit(false);
            try (Statement statement = blocker.createStatement()) {
                // The decoder's next batch cannot commit while this holds its progress row.
                statement.execute("SELECT * FROM cdc.logical_capture FOR UPDATE");
                long logged = loggedLines();
                changes.run();
                StandbyPair.awaitReplayed();
                jobId = post(type, "lines", "app.order_lines");
                awaitWaitingFor(jobId, "capture");
                assertThat(loggedLines()).as("nothing of the changes is logged while the export's snapshot is taken")
                        .isEqualTo(logged);
                if (pause) {
                    StandbyPair.pauseReplay();
                }
            }
            blocker.rollback();
        }
        try {
            assertThat(awaitStatus(jobId)).isEqualTo("completed");
        } finally {
            if (pause) {
                StandbyPair.resumeReplay();
            }
        }
        return awaitExport(jobId, "lines");
    }

    /** How many exports on a standby read log-based capture's entries on {@code database}. */
    private double entriesReads(String database) {
        String prefix = "cdc_export_logical_entries_reads_total{database=\"" + database + "\"";
        return api.get("/actuator/prometheus", null).body().lines().filter(l -> l.startsWith(prefix))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private void awaitWaitingFor(String jobId, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!what.equals(api.get("/exports/jobs/" + jobId, "lines").json().path("waitingFor").asString(""))) {
            assertThat(System.nanoTime()).as("the export waits for " + what).isLessThan(deadline);
            IntegrationTest.sleep(10);
        }
    }

    private long loggedLines() {
        return primary.queryForObject("SELECT count(*) FROM cdc.change_log WHERE table_oid = "
                + "'app.order_lines'::regclass", Long.class);
    }

    /**
     * A window larger than one batch of entries, read on the standby, gives the very bytes the same export reads on
     * the primary, for a delta and an incremental export, in CSV and in parquet.
     */
    @Test
    void aLogicallyCapturedWindowReadOnTheStandbyInBatchesIsByteForByteThePrimarysRead() throws Exception {
        primary.update("INSERT INTO app.order_lines SELECT g / 10, g % 10, 'sku-' || g, 1 FROM generate_series(0, 999) g");
        LogicalDatabase.awaitDecoded(primary);
        StandbyPair.awaitReplayed();
        String jobId = exportLines("full", "batches").jobId();
        Snapshot since = new Snapshot(watermark("batches"));

        primary.update("INSERT INTO app.order_lines SELECT g / 10, g % 10, 'sku-' || g, 2 FROM "
                + "generate_series(1000, 40999) g");
        primary.update("UPDATE app.order_lines SET qty = qty + 1 WHERE order_id % 7 = 0");
        primary.update("DELETE FROM app.order_lines WHERE order_id % 11 = 0");
        primary.update("INSERT INTO app.order_lines VALUES (0, 0, 'again', 3)"); // deleted and born again
        LogicalDatabase.awaitDecoded(primary);
        StandbyPair.awaitReplayed();
        assertThat(primary.queryForObject("SELECT sum(length(json_build_object('change_xid', l.change_xid, 'seq', "
                + "l.seq, 'op', l.op, 'key', l.key, 'old_row', l.old_row, 'changed_at', l.changed_at)::text)) FROM "
                + "cdc.change_log l WHERE table_oid = 'app.order_lines'::regclass AND NOT pg_visible_in_snapshot("
                + "change_xid, ?::pg_snapshot)", Long.class, since.text()))
                .as("the window is more than one batch").isGreaterThan((long) LogicalStandbyRead.BATCH_CHARS);

        SnapshotReader onPrimary = new SnapshotReader(primary.getDataSource(), captured, parallel);
        // The entries come from the standby, or from the primary (replay stopped after the snapshot, or no feedback):
        // the same bytes.
        StandbyPair.configureStandby(true, StandbyPair.DEFAULT_STREAMING_DELAY);
        try {
            double onStandby = entriesReads("standby-1");
            assertStandbyReadsThePrimarysBytes(onPrimary, jobId, since);
            assertThat(entriesReads("standby-1")).isEqualTo(onStandby + 4);
            double onPrimaryBefore = entriesReads("primary");
            StandbyPair.pauseReplay();
            try {
                assertStandbyReadsThePrimarysBytes(onPrimary, jobId, since);
            } finally {
                StandbyPair.resumeReplay();
            }
            assertThat(entriesReads("primary")).isEqualTo(onPrimaryBefore + 4);
        } finally {
            StandbyPair.configureStandby(false, StandbyPair.DEFAULT_STREAMING_DELAY);
        }
        double onPrimaryBefore = entriesReads("primary");
        assertStandbyReadsThePrimarysBytes(onPrimary, jobId, since);
        assertThat(entriesReads("primary")).isEqualTo(onPrimaryBefore + 4);
    }

    private void assertStandbyReadsThePrimarysBytes(SnapshotReader onPrimary, String jobId, Snapshot since)
            throws Exception {
        for (ExportFormat format : List.of(ExportFormat.CSV, ExportFormat.PARQUET)) {
            for (ExportType type : List.of(ExportType.DELTA, ExportType.INCREMENTAL)) {
                ExportPlan plan = new ExportPlan(UUID.fromString(jobId), 1, new ConsumerId("batches"), type, format,
                        List.of(new TablePlan(TableName.parse("app.order_lines").orElseThrow(), Read.of(type, true),
                                Optional.of(since), TableAccess.ALL, "lines")), Optional.empty(), Instant.now());
                ByteArrayOutputStream standbyFile = new ByteArrayOutputStream();
                assertThat(read(reader, plan, standbyFile).readFrom()).isEqualTo("standby-1");
                ByteArrayOutputStream primaryFile = new ByteArrayOutputStream();
                assertThat(read(onPrimary, plan, primaryFile).readFrom()).isEqualTo("primary");
                assertThat(standbyFile.size()).as(type + " " + format).isGreaterThan(100_000);
                assertThat(standbyFile.toByteArray()).as(type + " " + format).isEqualTo(primaryFile.toByteArray());
            }
        }
    }

    private static ReadResult read(SnapshotReader reader, ExportPlan plan, ByteArrayOutputStream out)
            throws Exception {
        try (SnapshotReader.SnapshotRead read = reader.open(plan, new ExportProgress())) {
            for (SnapshotReader.TableRead table : read.tables()) {
                try (EncodedOutput encoded = plan.format().open(out, table.columns())) {
                    table.copyTo(encoded);
                    encoded.finish();
                }
            }
            return read.finish();
        }
    }

    private Export exportLines(String type, String consumer) {
        return awaitExport(post(type, consumer, "app.order_lines"), consumer);
    }

    private void insertOrders(int from, int to) {
        primary.update("INSERT INTO app.orders (id, customer, total) SELECT g, 'Customer ' || g, g FROM "
                + "generate_series(?, ?) g", from, to);
    }

    private record Export(String jobId, String status, List<String> lines, JsonNode manifest) {
    }

    private Export export(String type, String consumer) {
        return awaitExport(post(type, consumer), consumer);
    }

    private String post(String type, String consumer) {
        return post(type, consumer, "app.orders");
    }

    private String post(String type, String consumer, String table) {
        Api.Response accepted = api.post("/exports/" + type + "?table=" + table, consumer);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        return accepted.field("jobId");
    }

    private Export awaitExport(String jobId, String consumer) {
        String status = awaitStatus(jobId);
        assertThat(status).as(primary.queryForObject("SELECT coalesce(error_detail, error, '') FROM cdc.export_jobs "
                + "WHERE id = ?::uuid", String.class, jobId)).isEqualTo("completed");
        String file = primary.queryForObject("SELECT output_filename FROM cdc.export_jobs WHERE id = ?::uuid",
                String.class, jobId);
        Api.Response manifest = api.get("/exports/jobs/" + jobId + "/manifest", consumer);
        try {
            return new Export(jobId, status, Files.readAllLines(OUTPUT.resolve(file)), manifest.json());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private String status(String jobId) {
        return primary.queryForObject("SELECT status FROM cdc.export_jobs WHERE id = ?::uuid", String.class, jobId);
    }

    private String awaitStatus(String jobId) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            String status = status(jobId);
            if (!status.equals("queued") && !status.equals("running")) {
                return status;
            }
            IntegrationTest.sleep(20);
        }
        throw new AssertionError("job " + jobId + " did not finish");
    }

    private static Path createOutput() {
        try {
            return Files.createTempDirectory("cdc-standby-output");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private String watermark(String consumer) {
        return primary.queryForObject("SELECT snapshot::text FROM cdc.watermarks WHERE consumer_id = ?", String.class,
                consumer);
    }
}
