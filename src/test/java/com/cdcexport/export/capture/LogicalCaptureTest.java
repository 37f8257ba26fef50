package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

import com.cdcexport.config.CdcProperties.CaptureMode;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.capture.logical.LogicalDecoder;
import com.cdcexport.export.capture.logical.SlotLag;
import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LogicalDatabase;
import com.cdcexport.support.OrderLinesWriter;
import com.cdcexport.support.TestDatabase;

/**
 * Log-based capture on a real PostgreSQL with wal_level=logical: app.orders and app.order_lines are decoded from
 * the WAL, app.twin_orders (the same shape) keeps its triggers, so the two modes can be compared statement by
 * statement. See docs/capture.md, "Log-based capture".
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class LogicalCaptureTest {

    private static final Path OUTPUT = createOutput();
    private static final String TABLES = "users,app.orders:logical,app.order_lines:logical,app.twin_orders";

    @LocalServerPort
    int port;

    @Autowired
    LogicalDecoder decoder;

    @Autowired
    SlotLag slotLag;

    private final JdbcTemplate jdbc = LogicalDatabase.jdbc();
    private Api api;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("cdc.database-url", LogicalDatabase::url);
        registry.add("cdc.output-dir", OUTPUT::toString);
        registry.add("cdc.seed-users", () -> "0");
        registry.add("cdc.export-tables", () -> TABLES);
    }

    @BeforeEach
    void cleanSlate() {
        api = new Api(port);
        decoder.start();
        awaitDecoded();
        jdbc.execute("ALTER TABLE app.orders REPLICA IDENTITY DEFAULT");
        jdbc.execute("DELETE FROM app.orders; DELETE FROM app.order_lines; DELETE FROM app.twin_orders");
        awaitDecoded();
        jdbc.execute("TRUNCATE cdc.change_log, cdc.watermarks, cdc.export_jobs, cdc.held_rows, cdc.held_rows_pending");
    }

    @Test
    void decodedEntriesAreTheTriggersEntriesForTheSameStatements() {
        jdbc.execute("ALTER TABLE app.orders REPLICA IDENTITY FULL");
        List<String> statements = List.of(
                "INSERT INTO %s (id, customer, total, doc, placed_at) VALUES (1, 'Ada', 10.50, '{\"vip\": true}', "
                        + "'2026-12-01 08:00:00.123456+00'), (2, 'Bob', NULL, NULL, '2026-12-01 09:00:00+00'), "
                        + "(3, 'Cid', 7, '[1, 2]', '2026-12-01 10:00:00+00')",
                "UPDATE %s SET status = 'paid', total = total + 1 WHERE id IN (1, 3)",
                "UPDATE %s SET id = 20 WHERE id = 2",
                "DELETE FROM %s WHERE id = 3",
                "INSERT INTO %s (id, customer, placed_at) VALUES (4, 'Dee', '2026-12-07 10:00:00+01')",
                "DELETE FROM %s WHERE id = 4");
        List<Long> sourceXids = new ArrayList<>();
        for (String statement : statements) {
            sourceXids.add(inTransaction(statement.replace("%s", "app.orders")));
            inTransaction(statement.replace("%s", "app.twin_orders"));
        }
        awaitDecoded();

        List<Map<String, Object>> decoded = entries("app.orders");
        List<Map<String, Object>> triggered = entries("app.twin_orders");
        assertThat(decoded).hasSize(10).isEqualTo(triggered);
        assertThat(jdbc.queryForList("SELECT DISTINCT change_xid::text::bigint FROM change_log WHERE table_oid = "
                + "'app.orders'::regclass ORDER BY 1", Long.class)).isEqualTo(sourceXids);
    }

    @Test
    void aDeleteCarriesTheKeyAloneUnderTheDefaultReplicaIdentity() {
        inTransaction("INSERT INTO app.orders (id, customer, total) VALUES (5, 'Eve', 3)");
        inTransaction("DELETE FROM app.orders WHERE id = 5");
        awaitDecoded();

        Map<String, Object> delete = jdbc.queryForMap("SELECT key::text, old_row->>'id' AS id, old_row->>'customer' "
                + "AS customer FROM change_log WHERE table_oid = 'app.orders'::regclass AND op = 'D'");
        assertThat(delete.get("key")).isEqualTo("[5]");
        assertThat(delete.get("id")).isEqualTo("5");
        assertThat(delete.get("customer")).isNull();
    }

    @Test
    void aTruncateInTheStreamMakesTheNextDeltaAskForAFullExport() {
        inTransaction("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        runExport("full", "lake");
        inTransaction("TRUNCATE app.orders");

        Api.Response accepted = api.post("/exports/delta?table=app.orders", "lake");
        assertThat(TestDatabaseJobs.await(jdbc, accepted.field("jobId"))).isEqualTo("failed");
        assertThat(jdbc.queryForObject("SELECT error FROM export_jobs WHERE id = ?::uuid", String.class,
                accepted.field("jobId"))).contains("full export");
    }

    /**
     * The race of docs/capture.md: a source transaction commits, the export takes its snapshot S (so it sees the
     * row), and only then does the decoder commit the transaction's entry. The export must still carry the row,
     * and the next export must not carry it again.
     */
    @Test
    void anEntryDecodedAfterTheSnapshotIsStillInThatExportsWindow() throws Exception {
        inTransaction("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        runExport("full", "lake");

        Api.Response accepted;
        try (Connection blocker = DriverManager.getConnection(jdbcUrl())) {
            blocker.setAutoCommit(false);
            try (Statement statement = blocker.createStatement()) {
                // The decoder's next batch cannot commit while this holds its progress row.
                statement.execute("SELECT * FROM cdc.logical_capture FOR UPDATE");
                inTransaction("INSERT INTO app.orders (id, customer) VALUES (2, 'Bob')");
                inTransaction("UPDATE app.orders SET status = 'paid' WHERE id = 1");
                accepted = api.post("/exports/delta?table=app.orders", "lake");
                assertThat(accepted.status()).isEqualTo(202);
                awaitExportWaitingForDecoder(accepted.field("jobId"));
                assertThat(jdbc.queryForObject("SELECT count(*) FROM change_log WHERE table_oid = "
                        + "'app.orders'::regclass AND key = '[2]'", Long.class))
                        .as("the entry is not committed while the export's snapshot is taken").isZero();
            }
            blocker.rollback();
        }
        assertThat(TestDatabaseJobs.await(jdbc, accepted.field("jobId"))).isEqualTo("completed");
        List<String[]> rows = IntegrationTest.readCsv(OUTPUT.resolve(accepted.field("outputFilename")));
        assertThat(rows.stream().skip(1).map(r -> r[0] + " " + r[1])).containsExactly("UPDATE 1", "INSERT 2");

        List<String[]> next = IntegrationTest.readCsv(OUTPUT.resolve(runExport("delta", "lake").field("outputFilename")));
        assertThat(next).hasSize(1);
    }

    @Test
    void aBatchTheSlotDeliversAgainAfterACrashIsLoggedOnce() {
        decoder.stop();
        jdbc.execute("SELECT pg_copy_logical_replication_slot('cdc_export', 'cdc_export_rewound')");
        decoder.start();
        for (int id = 1; id <= 5; id++) {
            inTransaction("INSERT INTO app.orders (id, customer) VALUES (" + id + ", 'c" + id + "')");
        }
        awaitDecoded();
        // As if the decoder had died after committing the batch and before the slot heard of it.
        decoder.stop();
        awaitSlotInactive("cdc_export");
        jdbc.execute("SELECT pg_drop_replication_slot('cdc_export')");
        jdbc.execute("SELECT pg_copy_logical_replication_slot('cdc_export_rewound', 'cdc_export')");
        jdbc.execute("SELECT pg_drop_replication_slot('cdc_export_rewound')");
        decoder.start();
        inTransaction("INSERT INTO app.orders (id, customer) VALUES (6, 'c6')");
        awaitDecoded();

        assertThat(jdbc.queryForList("SELECT key::text FROM change_log WHERE table_oid = 'app.orders'::regclass "
                + "ORDER BY change_xid, seq", String.class)).containsExactly("[1]", "[2]", "[3]", "[4]", "[5]", "[6]");
    }

    /**
     * Switching a table between triggers and the WAL while a writer keeps inserting: every source transaction is
     * logged by exactly one of the two.
     */
    @Test
    void switchingATableBetweenModesUnderWritesLogsEveryChangeOnce() throws Exception {
        try (OrderLinesWriter writer = OrderLinesWriter.start(jdbcUrl())) {
            for (CaptureMode mode : List.of(CaptureMode.TRIGGER, CaptureMode.LOGICAL, CaptureMode.TRIGGER,
                    CaptureMode.LOGICAL)) {
                writer.awaitMore(200);
                captureOrderLines(mode);
                assertThat(jdbc.queryForObject("SELECT capture_mode FROM captured_tables WHERE relid = "
                        + "'app.order_lines'::regclass", String.class)).isEqualTo(mode.slug());
            }
            writer.awaitMore(200);
        }
        awaitDecoded();

        long inserted = jdbc.queryForObject("SELECT count(*) FROM app.order_lines", Long.class);
        assertThat(inserted).isGreaterThan(1000);
        assertThat(LogicalDatabase.loggedOrderLineInserts()).as("one I entry per inserted row").hasSize((int) inserted)
                .doesNotHaveDuplicates();
    }

    /**
     * The race the switch test above once lost 500 entries to: a table switched back to the WAL before the decoder
     * passed its switch to triggers would overwrite the interval the decoder still logs the earlier commits by, and
     * those commits would be logged by neither. Such a switch waits for the decoder, and with none decoding keeps
     * the triggers.
     */
    @Test
    void aSwitchBackToTheWalBeforeTheDecoderPassedTheSwitchToTriggersKeepsTheTriggersAndLosesNothing() {
        captureOrderLines(CaptureMode.LOGICAL);
        awaitDecoded();
        decoder.stop();
        try {
            inTransaction("INSERT INTO app.order_lines (order_id, line_no, sku, qty) SELECT g, 1, 'wal', 1 "
                    + "FROM generate_series(1, 50) g");
            captureOrderLines(CaptureMode.TRIGGER);
            inTransaction("INSERT INTO app.order_lines (order_id, line_no, sku, qty) SELECT g, 1, 'trigger', 1 "
                    + "FROM generate_series(51, 100) g");
            captureOrderLines(CaptureMode.LOGICAL);
            assertThat(jdbc.queryForObject("SELECT capture_mode FROM captured_tables WHERE relid = "
                    + "'app.order_lines'::regclass", String.class)).as("no decoder has passed the switch")
                    .isEqualTo("trigger");
            inTransaction("INSERT INTO app.order_lines (order_id, line_no, sku, qty) SELECT g, 1, 'kept', 1 "
                    + "FROM generate_series(101, 150) g");
        } finally {
            decoder.start();
        }
        awaitDecoded();
        assertThat(LogicalDatabase.loggedOrderLineInserts()).as("each insert logged once, by one of the two")
                .hasSize(150).doesNotHaveDuplicates();
        captureOrderLines(CaptureMode.LOGICAL);
        assertThat(jdbc.queryForObject("SELECT capture_mode FROM captured_tables WHERE relid = "
                + "'app.order_lines'::regclass", String.class)).as("once passed, the switch goes through")
                .isEqualTo("logical");
    }

    @Test
    void aDecoderThatStopsShowsAsLagInBytesAndSecondsAndCatchesUp() {
        awaitDecoded();
        decoder.stop();
        try {
            slotLag.sample();
            inTransaction("INSERT INTO app.orders (id, customer) SELECT g, 'c' || g FROM generate_series(1, 2000) g");
            IntegrationTest.sleep(1100);
            slotLag.sample();
            assertThat(slotLag.retainedBytes()).isGreaterThan(100_000);
            assertThat(slotLag.lagSeconds()).isGreaterThanOrEqualTo(1.0);
            Api.Response readiness = api.get("/actuator/health/readiness", "admin");
            assertThat(readiness.body()).contains("logicalCapture");
        } finally {
            decoder.start();
        }
        awaitDecoded();
        // An idle decoder confirms the server's position (past its own writes) every second; the slot hears of it
        // at the next status update.
        IntegrationTest.sleep(3000);
        slotLag.sample();
        assertThat(slotLag.retainedBytes()).isLessThan(100_000);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM change_log WHERE table_oid = 'app.orders'::regclass",
                Long.class)).isEqualTo(2000);
    }

    /**
     * max_slot_wal_keep_size lets the server give up a slot nobody decodes: the changes since are lost to capture.
     * The decoder replaces the slot and marks every logical table, so a consumer's next delta asks for a full
     * export instead of skipping what was lost.
     */
    @Test
    void aSlotTheServerInvalidatedMakesTheNextDeltaAskForAFullExport() {
        inTransaction("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        runExport("full", "lake");
        awaitDecoded();
        decoder.stop();
        try {
            awaitSlotInactive("cdc_export");
            jdbc.execute("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
            jdbc.execute("SELECT pg_reload_conf()");
            for (int segment = 0; segment < 4; segment++) {
                inTransaction("UPDATE app.orders SET status = 's" + segment + "' WHERE id = 1");
                jdbc.execute("SELECT pg_switch_wal()");
            }
            jdbc.execute("CHECKPOINT");
            assertThat(jdbc.queryForObject("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'cdc_export'",
                    String.class)).isEqualTo("lost");
        } finally {
            jdbc.execute("ALTER SYSTEM RESET max_slot_wal_keep_size");
            jdbc.execute("SELECT pg_reload_conf()");
            decoder.start();
        }
        awaitDecoded();

        assertTheNextDeltaAsksForAFullExportAndDecodingGoesOnAfterIt();
    }

    /**
     * What a promotion leaves on PostgreSQL 15 and 16 (no slot is synchronised to a standby): the service's tables
     * with their progress, no slot. The next start-up must not create a fresh slot and decode on as if nothing were
     * missing: the changes the old primary had not decoded are lost, so consumers are sent to a full export.
     */
    @Test
    void aSlotMissingAtStartUpAsAfterAPromotionWithoutFailoverMakesTheNextDeltaAskForAFullExport() {
        inTransaction("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        runExport("full", "lake");
        awaitDecoded();
        decoder.stop();
        try {
            awaitSlotInactive("cdc_export");
            inTransaction("UPDATE app.orders SET status = 'never decoded' WHERE id = 1");
            jdbc.execute("SELECT pg_drop_replication_slot('cdc_export')");
            capture(dataSource(jdbcUrl()), TABLES);
        } finally {
            decoder.start();
        }
        awaitDecoded();

        assertTheNextDeltaAsksForAFullExportAndDecodingGoesOnAfterIt();
    }

    /**
     * After a slot was lost: the next delta of app.orders fails asking for a full export; after that full export,
     * decoding goes on (a change made then is the next delta's one row).
     */
    private void assertTheNextDeltaAsksForAFullExportAndDecodingGoesOnAfterIt() {
        Api.Response delta = api.post("/exports/delta?table=app.orders", "lake");
        assertThat(TestDatabaseJobs.await(jdbc, delta.field("jobId"))).isEqualTo("failed");
        assertThat(jdbc.queryForObject("SELECT error FROM export_jobs WHERE id = ?::uuid", String.class,
                delta.field("jobId"))).contains("full export");
        runExport("full", "lake");
        inTransaction("UPDATE app.orders SET status = 'after' WHERE id = 1");
        List<String[]> rows = IntegrationTest.readCsv(OUTPUT.resolve(runExport("delta", "lake").field("outputFilename")));
        assertThat(rows.stream().skip(1).map(r -> r[0] + " " + r[1])).as("decoding goes on from the new slot")
                .containsExactly("UPDATE 1");
    }

    @Test
    void logicalCaptureOnAServerWithoutWalLevelLogicalFailsInOneLine() {
        assertThatThrownBy(() -> capture(TestDatabase.dataSource(), "app.orders:logical"))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("wal_level=logical").hasMessageNotContaining("\n");
    }

    @Test
    void aRoleWithoutReplicationIsToldWhatToGrantInOneLine() {
        jdbc.execute("DROP ROLE IF EXISTS cdc_plain; CREATE ROLE cdc_plain LOGIN; GRANT ALL ON SCHEMA cdc TO cdc_plain");
        assertThatThrownBy(() -> capture(dataSource(jdbcUrl().replace("user=postgres", "user=cdc_plain")),
                "app.orders:logical"))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("ALTER ROLE \"cdc_plain\" REPLICATION").hasMessageNotContaining("\n");
    }

    /** The DBA's uninstall of the last logical table leaves no slot (which would keep WAL) and no publication. */
    @Test
    void uninstallingTheLastLogicalTablesDropsTheSlotAndThePublication() {
        decoder.stop();
        try {
            awaitSlotInactive("cdc_export");
            jdbc.execute("SELECT cdc.uninstall_capture('app.orders'); SELECT cdc.uninstall_capture('app.order_lines')");
            assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_replication_slots", Long.class)).isZero();
            assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_publication", Long.class)).isZero();
            assertThat(jdbc.queryForObject("SELECT count(*) FROM logical_capture", Long.class)).isZero();
        } finally {
            // Back to how the service captures them, for the other tests.
            capture(dataSource(jdbcUrl()), TABLES);
            decoder.start();
        }
    }

    @Test
    void anUnknownModeSuffixIsRefused() {
        assertThatThrownBy(() -> CapturedTables.parse("app.orders:wal", CaptureMode.TRIGGER))
                .isInstanceOf(InvalidSettingException.class).hasMessageContaining(":trigger or :logical");
    }

    private void captureOrderLines(CaptureMode mode) {
        capture(dataSource(jdbcUrl()), "users,app.orders:logical,app.order_lines:" + mode.slug() + ",app.twin_orders");
    }

    /** Installs capture as a starting instance with these EXPORT_TABLES would (CAPTURE_MODE=trigger). */
    private static CapturedTables capture(DataSource dataSource, String exportTables) {
        return new CapturedTables(JdbcClient.create(dataSource),
                new TransactionTemplate(new DataSourceTransactionManager(dataSource)), "cdc", exportTables,
                CaptureMode.TRIGGER, "cdc_export");
    }

    private static DataSource dataSource(String jdbcUrl) {
        return new SimpleDriverDataSource(new org.postgresql.Driver(), jdbcUrl);
    }

    private Api.Response runExport(String type, String consumer) {
        Api.Response accepted = api.post("/exports/" + type + "?table=app.orders", consumer);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        assertThat(TestDatabaseJobs.await(jdbc, accepted.field("jobId"))).as(accepted.body()).isEqualTo("completed");
        return accepted;
    }

    /** Runs a statement in a transaction of its own and returns that transaction's xid. */
    private long inTransaction(String sql) {
        try (Connection connection = DriverManager.getConnection(jdbcUrl())) {
            connection.setAutoCommit(false);
            long xid;
            try (Statement statement = connection.createStatement()) {
                statement.execute(sql);
                var rs = statement.executeQuery("SELECT pg_current_xact_id()::text::bigint");
                rs.next();
                xid = rs.getLong(1);
            }
            connection.commit();
            return xid;
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A table's entries in order, without the update entries that repeat, in the same transaction, the insert of
     * the same key (the update trigger logs a key-changing update's new key once more; it changes no window).
     */
    private List<Map<String, Object>> entries(String table) {
        return jdbc.queryForList("SELECT op::text, key::text, old_row::text FROM change_log l WHERE table_oid = '"
                + table + "'::regclass AND NOT (op = 'U' AND EXISTS (SELECT 1 FROM change_log i WHERE i.table_oid = "
                + "l.table_oid AND i.change_xid = l.change_xid AND i.key = l.key AND i.op = 'I' AND i.seq < l.seq)) "
                + "ORDER BY change_xid, seq");
    }

    private static void awaitDecoded() {
        LogicalDatabase.awaitDecoded();
    }

    private void awaitSlotInactive(String slot) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (jdbc.queryForObject("SELECT active FROM pg_replication_slots WHERE slot_name = ?", Boolean.class, slot)) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            IntegrationTest.sleep(20);
        }
    }

    /**
     * Until the export's transaction waits for the decoder (its snapshot taken, its marker written), or the export
     * ended without waiting (which the test's assertions on its file then judge).
     */
    private void awaitExportWaitingForDecoder(String jobId) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (jdbc.queryForObject("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_logical_emit_message%'"
                + " AND query NOT LIKE '%pg_stat_activity%' AND backend_xmin IS NOT NULL", Long.class) == 0
                && List.of("queued", "running").contains(jdbc.queryForObject("SELECT status FROM export_jobs WHERE id = "
                + "?::uuid", String.class, jobId))) {
            assertThat(System.nanoTime()).as("an export waits for the decoder").isLessThan(deadline);
            IntegrationTest.sleep(10);
        }
        IntegrationTest.sleep(200);
    }

    private static String jdbcUrl() {
        return LogicalDatabase.url();
    }

    private static Path createOutput() {
        try {
            return Files.createTempDirectory("cdc-logical-output");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Job status polling against the logical test database. */
    private static final class TestDatabaseJobs {

        static String await(JdbcTemplate jdbc, String jobId) {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (System.nanoTime() < deadline) {
                String status = jdbc.queryForObject("SELECT status FROM export_jobs WHERE id = ?::uuid", String.class,
                        jobId);
                if (!status.equals("queued") && !status.equals("running")) {
                    return status;
                }
                IntegrationTest.sleep(10);
            }
            throw new AssertionError("job " + jobId + " did not finish");
        }
    }
}
