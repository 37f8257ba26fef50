package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.DuckDbIcebergReader;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;

/**
 * Exports applied to Iceberg tables, read back by Iceberg's own generic reader, once through the service's
 * catalog and once through Iceberg's JDBC catalog pointed at the service's schema (an implementation of the
 * catalog that is not ours): after every export the Iceberg table equals the consumer's view of the live table.
 */
@TestPropertySource(properties = {"cdc.auth.admin-token=" + IcebergExportTest.ADMIN_TOKEN,
        "cdc.parallel.parallelism=2", "cdc.parallel.min-rows=500"})
class IcebergExportTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "iceberg-test-admin-token-5e8c2a9d1f4b7";
    private static final Map<String, String> ADMIN = Map.of("Authorization", "Bearer " + ADMIN_TOKEN);

    @Autowired
    private IcebergDestination iceberg;
    @Autowired
    private IcebergUpkeep upkeep;

    @AfterEach
    void dropTestHooks() {
        OrdersTable.commitsSucceed(jdbc);
    }

    /** The live table as a consumer with no rules sees it: id → its values as text. */
    private Table ours(String name) {
        return iceberg.catalog().loadTable(TableIdentifier.parse(name));
    }

    /** Iceberg's JDBC catalog over the service's catalog rows: a second, independent reader of the pointers. */
    private static Table theirs(String name) {
        return TheirCatalog.load(name, Map.of("io-impl", LocalFileIO.class.getName(),
                "warehouse", OUTPUT_DIR.resolve("iceberg").toUri().toString()));
    }

    private Api.Response toIceberg(String type, String consumer) {
        return runExport(type, consumer, "iceberg", "app.orders");
    }

    @Test
    void fullThenDeltasKeepTheIcebergTableEqualToTheLiveTable() throws IOException {
        OrdersTable.insert(jdbc, 1, 1200);
        Api.Response full = toIceberg("full", "lake");
        assertThat(full.field("outputFilename")).isEqualTo("lake.app_orders");
        assertThat(OrdersTable.inIceberg(ours("lake.app_orders"))).hasSize(1200).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(ThreeReaders.assertAgree(jdbc, ours("lake.app_orders"), "app.orders").files(0))
                .as("DuckDB read the full export's data files").isPositive();
        assertThat(toIceberg("delta", "lake").status()).as("a first delta sets the watermark").isEqualTo(202);

        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id <= 10");
        jdbc.update("UPDATE app.orders SET total = total + 1 WHERE id <= 5");      // a key changed twice
        jdbc.update("DELETE FROM app.orders WHERE id BETWEEN 11 AND 20");
        OrdersTable.insert(jdbc, 1201, 1210);
        jdbc.update("DELETE FROM app.orders WHERE id = 1210");                     // born and gone in the window
        jdbc.update("DELETE FROM app.orders WHERE id = 30");
        OrdersTable.insert(jdbc, 30, 30);                                                             // gone and back
        jdbc.update("UPDATE app.orders SET id = 5000 WHERE id = 40");                      // a key changed
        Api.Response delta = toIceberg("delta", "lake");
        DuckDbIcebergReader.Contents duck = ThreeReaders.assertAgree(jdbc, ours("lake.app_orders"), "app.orders");
        assertThat(duck.files(2)).as("DuckDB applied the delta's equality deletes").isPositive();
        assertThat(duck.duckDbTypes()).containsExactlyEntriesOf(orderedMap("id", "BIGINT", "customer", "VARCHAR",
                "total", "DECIMAL(12,2)", "status", "VARCHAR", "placed_at", "TIMESTAMP WITH TIME ZONE"));
        assertThat(duck.byKey()).containsKey("5000").doesNotContainKeys("40", "11", "1210");

        Table table = ours("lake.app_orders");
        assertThat(OrdersTable.inIceberg(table)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(OrdersTable.inIceberg(theirs("lake.app_orders"))).as("through Iceberg's JDBC catalog")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        Map<String, String> summary = table.currentSnapshot().summary();
        assertThat(summary).containsEntry("cdc.job-id", delta.field("jobId")).containsEntry("cdc.consumer", "lake")
                .containsEntry("cdc.export-type", "delta").containsEntry("cdc.source-table", "app.orders")
                .containsEntry("cdc.snapshot", jdbc.queryForObject("SELECT snapshot::text FROM cdc.watermarks "
                        + "WHERE consumer_id = 'lake'", String.class))
                .containsKey("cdc.previous-snapshot");
        assertThat(table.currentSnapshot().operation()).isEqualTo("overwrite");
        java.time.Instant finished = java.time.Instant.parse(api.get("/exports/jobs/" + delta.field("jobId"), "lake")
                .field("finishedAt").replace("+00:00", "Z"));
        assertThat(finished).as("the job ends after its Iceberg commit").isAfterOrEqualTo(Files.getLastModifiedTime(
                LocalFileIO.path(((org.apache.iceberg.HasTableOperations) table).operations().current()
                        .metadataFileLocation())).toInstant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS)
                .minusMillis(1));

        long snapshots = Stream.of(table.snapshots()).count();
        Iterable<Snapshot> before = table.snapshots();
        toIceberg("delta", "lake");
        table.refresh();
        assertThat(table.snapshots()).as("an empty window changes nothing").hasSameSizeAs(before);
        assertThat(snapshots).isPositive();

        toIceberg("full", "lake");
        jdbc.update("DELETE FROM app.orders WHERE id > 100");
        toIceberg("full", "lake");
        assertThat(OrdersTable.inIceberg(ours("lake.app_orders"))).as("a full export replaces everything").hasSize(
                OrdersTable.live(jdbc, "true").size()).isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    @Test
    void aTableRolledBackByAnotherWriterIsReadWholeAtTheNextExport() {
        OrdersTable.insert(jdbc, 1, 40);
        toIceberg("delta", "rolled");
        long first = ours("rolled.app_orders").currentSnapshot().snapshotId();
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id = 1");
        toIceberg("delta", "rolled");
        // Another engine, through the same catalog, takes the table back to the first export's snapshot.
        ours("rolled.app_orders").manageSnapshots().rollbackTo(first).commit();

        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id = 2");
        toIceberg("delta", "rolled");
        Table table = ours("rolled.app_orders");
        assertThat(OrdersTable.inIceberg(table)).as("the rolled-back window is not lost")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(table.currentSnapshot().summary()).as("read whole").containsEntry("added-records", "40");
    }

    @Test
    void aWindowIsAppliedOnlyToATableAtItsWatermarkElseTheTableIsReadWhole() {
        OrdersTable.insert(jdbc, 1, 30);
        runExport("delta", "mixed", "csv", "app.orders");
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id = 1");
        toIceberg("delta", "mixed");
        assertThat(OrdersTable.inIceberg(ours("mixed.app_orders"))).as("a new table after file exports: read whole")
                .hasSize(30).isEqualTo(OrdersTable.live(jdbc, "true"));

        jdbc.update("UPDATE app.orders SET status = 'shipped' WHERE id = 2");
        runExport("delta", "mixed", "csv", "app.orders");              // the watermark moves past the table
        jdbc.update("DELETE FROM app.orders WHERE id = 3");
        toIceberg("delta", "mixed");
        assertThat(OrdersTable.inIceberg(ours("mixed.app_orders"))).as("the file export's window is not lost")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(ours("mixed.app_orders").currentSnapshot().summary().get("cdc.previous-snapshot"))
                .as("read whole, though a watermark existed").isNotNull();
        assertThat(ours("mixed.app_orders").currentSnapshot().operation()).isEqualTo("overwrite");

        jdbc.update("UPDATE app.orders SET total = 0 WHERE id = 4");
        toIceberg("delta", "mixed");
        Map<String, String> summary = ours("mixed.app_orders").currentSnapshot().summary();
        assertThat(summary.get("added-records")).as("at its watermark again: only the window").isEqualTo("1");
        assertThat(OrdersTable.inIceberg(ours("mixed.app_orders"))).isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    @Test
    void aConsumersRowFilterAndMasksShapeItsTableInEveryExport() {
        OrdersTable.insert(jdbc, 1, 100);
        Api.Response rule = api.send("PUT", "/consumers/small/tables/app.orders", ADMIN,
                "{\"columns\": [\"customer\", \"total\", \"status\", \"placed_at\"], "
                        + "\"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"50\"}], "
                        + "\"masks\": {\"customer\": \"null\"}}");
        assertThat(rule.status()).as(rule.body()).isEqualTo(200);
        toIceberg("delta", "small");
        jdbc.update("UPDATE app.orders SET total = 10 WHERE id = 90");              // enters the filter
        jdbc.update("UPDATE app.orders SET total = 99 WHERE id = 5");               // leaves it
        jdbc.update("UPDATE app.orders SET status = 'x' WHERE id = 80");            // never inside
        jdbc.update("DELETE FROM app.orders WHERE id = 70");                        // never inside
        jdbc.update("DELETE FROM app.orders WHERE id = 6");                         // inside, gone
        toIceberg("delta", "small");

        Map<Long, String> expected = new TreeMap<>();
        OrdersTable.live(jdbc, "total <= 50").forEach((id, values) -> expected.put(id, "null" + values.substring(
                values.indexOf('|'))));
        assertThat(OrdersTable.inIceberg(ours("small.app_orders"))).isEqualTo(expected);
        assertThat(ThreeReaders.assertDuckDbAgreesWithIceberg(jdbc, ours("small.app_orders")).byKey())
                .hasSameSizeAs(expected);
    }

    @Test
    void aCommitRolledBackAfterTheIcebergSwapLeavesTableAndWatermarkAsTheyWereAndTheRetryAppliesOnce()
            throws IOException {
        OrdersTable.insert(jdbc, 1, 20);
        toIceberg("delta", "lake");
        Table table = ours("lake.app_orders");
        long snapshot = table.currentSnapshot().snapshotId();
        String watermark = jdbc.queryForObject("SELECT snapshot::text FROM cdc.watermarks WHERE consumer_id = "
                + "'lake'", String.class);
        try (Stream<Path> files = Files.walk(OUTPUT_DIR.resolve("iceberg/lake/app_orders/data"))) {
            assertThat(files.filter(Files::isRegularFile).count()).isEqualTo(1);
        }

        // The export's transaction swaps the pointer, then fails at COMMIT (a deferred trigger): a crash between
        // the two systems, made inside one.
        OrdersTable.commitsFailAtCommit(jdbc);
        OrdersTable.payThreeAndDeleteOne(jdbc);
        Api.Response failed = api.post("/exports/delta?format=iceberg&table=app.orders", "lake");
        assertThat(awaitJob(failed.field("jobId"))).isEqualTo("failed");

        table.refresh();
        assertThat(table.currentSnapshot().snapshotId()).as("the swap rolled back").isEqualTo(snapshot);
        assertThat(jdbc.queryForObject("SELECT snapshot::text FROM cdc.watermarks WHERE consumer_id = 'lake'",
                String.class)).isEqualTo(watermark);
        try (Stream<Path> files = Files.walk(OUTPUT_DIR.resolve("iceberg/lake/app_orders/data"))) {
            assertThat(files.filter(Files::isRegularFile).count()).as("the failed attempt's files removed")
                    .isEqualTo(1);
        }

        dropTestHooks();
        toIceberg("delta", "lake");
        assertThat(OrdersTable.inIceberg(ours("lake.app_orders"))).isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    @Test
    void aColumnAddedOrDroppedInTheSourceIsAddedOrDroppedInTheTableWithItsCommit() {
        try {
            OrdersTable.insert(jdbc, 1, 10);
            toIceberg("delta", "lake");
            jdbc.execute("ALTER TABLE app.orders ADD COLUMN note TEXT");
            jdbc.update("UPDATE app.orders SET note = 'hello' WHERE id = 2");
            toIceberg("delta", "lake");
            Table table = ours("lake.app_orders");
            assertThat(table.schema().findField("note")).isNotNull();
            Map<Long, Object> notes = new TreeMap<>();
            try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
                records.forEach(r -> notes.put((Long) r.getField("id"), r.getField("note")));
            }
            assertThat(notes.get(2L)).isEqualTo("hello");
            assertThat(notes.get(1L)).as("a row outside the window keeps no value until a full export").isNull();

            jdbc.execute("ALTER TABLE app.orders DROP COLUMN note");
            jdbc.execute("ALTER TABLE app.orders DROP COLUMN status");
            jdbc.update("UPDATE app.orders SET total = 1 WHERE id = 3");
            toIceberg("delta", "lake");
            table.refresh();
            assertThat(table.schema().findField("note")).isNull();
            assertThat(table.schema().findField("status")).isNull();
            assertThat(table.schemas()).as("older snapshots keep their schemas").hasSizeGreaterThanOrEqualTo(3);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    /**
     * A column is followed by its number in the table, not its name: renamed, it keeps its field and the values of
     * rows outside the window; dropped and added again under the same name, it is a new field, and no row keeps a
     * value of the old column (the source has none).
     */
    @Test
    void aRenamedColumnKeepsItsValuesAndAColumnAddedAgainUnderItsNameStartsEmpty() {
        try {
            OrdersTable.insert(jdbc, 1, 10);
            toIceberg("delta", "lake");
            Table table = ours("lake.app_orders");
            int statusField = table.schema().findField("status").fieldId();

            jdbc.execute("ALTER TABLE app.orders RENAME COLUMN status TO state");
            jdbc.update("UPDATE app.orders SET state = 'shipped' WHERE id = 2");
            toIceberg("delta", "lake");
            table.refresh();
            assertThat(table.schema().findField("status")).isNull();
            assertThat(table.schema().findField("state").fieldId()).as("the same field").isEqualTo(statusField);
            Map<Long, Object> states = column(table, "state");
            assertThat(states.get(2L)).isEqualTo("shipped");
            assertThat(states.get(1L)).as("a row outside the window keeps its value").isEqualTo(
                    jdbc.queryForObject("SELECT state FROM app.orders WHERE id = 1", String.class));
            ThreeReaders.assertAgree(jdbc, table, "app.orders");         // DuckDB finds the column by its field id

            jdbc.execute("ALTER TABLE app.orders DROP COLUMN state");
            jdbc.execute("ALTER TABLE app.orders ADD COLUMN state TEXT");
            jdbc.update("UPDATE app.orders SET state = 'new again' WHERE id = 3");
            toIceberg("delta", "lake");
            table.refresh();
            assertThat(table.schema().findField("state").fieldId()).as("another field").isNotEqualTo(statusField);
            states = column(table, "state");
            assertThat(states.get(3L)).isEqualTo("new again");
            assertThat(states.get(1L)).as("no value of the dropped column").isNull();
            assertThat(column(table, "customer").keySet()).as("each key once, every key")
                    .containsExactlyElementsOf(jdbc.queryForList("SELECT id FROM app.orders ORDER BY id", Long.class));
            ThreeReaders.assertAgree(jdbc, table, "app.orders");         // not the old field's values by name
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    private static Map<Long, Object> column(Table table, String name) throws IOException {
        Map<Long, Object> values = new TreeMap<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            records.forEach(r -> values.put((Long) r.getField("id"), r.getField(name)));
        }
        return values;
    }

    @Test
    void everyCommonTypeKeepsItsValueAndIcebergType() throws IOException {
        jdbc.update("""
                INSERT INTO app.all_types (id, num, small, big, real8, flag, txt, vc, ch, ints, texts, doc, raw, ts,
                                           tstz, day, span, clock)
                VALUES ('6f1c3a52-9d4b-4e7a-8c2e-1f0a9b8c7d6e', 12345.678901, 7, 9000000000, 2.5, true, 'text', 'vc',
                        'ab', '{1,2}', '{a,b}', '{"k": 1}', '\\x00ff', '2026-02-03 04:05:06.789',
                        '2026-02-03 04:05:06.789+00', '2026-02-03', '1 day', '04:05:06')""");
        runExport("full", "lake", "iceberg", "app.all_types");
        Table table = ours("lake.app_all_types");
        assertThat(table.schema().findType("id").toString()).isEqualTo("uuid");
        assertThat(table.schema().findType("raw").toString()).isEqualTo("binary");
        assertThat(table.schema().findType("big").toString()).isEqualTo("long");
        assertThat(table.schema().findType("tstz").toString()).isEqualTo("timestamptz");
        assertThat(table.schema().findType("ts").toString()).isEqualTo("timestamp");
        assertThat(table.schema().identifierFieldNames()).containsExactly("id");
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            Record r = records.iterator().next();
            assertThat(r.getField("id").toString()).isEqualTo("6f1c3a52-9d4b-4e7a-8c2e-1f0a9b8c7d6e");
            assertThat(r.getField("num")).isEqualTo("12345.678901");
            assertThat(r.getField("small")).isEqualTo(7);
            assertThat(r.getField("big")).isEqualTo(9_000_000_000L);
            assertThat(r.getField("flag")).isEqualTo(true);
            assertThat(r.getField("ch")).isEqualTo("ab ");
            assertThat(r.getField("doc")).isEqualTo("{\"k\": 1}");
            assertThat(((java.nio.ByteBuffer) r.getField("raw")).remaining()).isEqualTo(2);
            assertThat(r.getField("day").toString()).isEqualTo("2026-02-03");
            assertThat(r.getField("ts").toString()).isEqualTo("2026-02-03T04:05:06.789");
            assertThat(((OffsetDateTime) r.getField("tstz")).toInstant().toString())
                    .isEqualTo("2026-02-03T04:05:06.789Z");
        }

        // DuckDB's parquet reader reads the encoder's files with the type each Iceberg type has in DuckDB
        DuckDbIcebergReader.Contents duck = ThreeReaders.assertAgree(jdbc, table, "app.all_types");
        assertThat(duck.duckDbTypes()).containsExactlyEntriesOf(ALL_TYPES_IN_DUCKDB);
        jdbc.update("""
                INSERT INTO app.all_types (id, num, small, big, real8, flag, txt, vc, ch, raw, ts, tstz, day)
                VALUES ('00000000-0000-0000-0000-000000000002', 'NaN', -32768, -9223372036854775808, 'NaN', false,
                        'tëxt ✓', '', NULL, '\\x', 'infinity', '-infinity', '-infinity'),
                       ('00000000-0000-0000-0000-000000000003', -0.5, 32767, NULL, '-Infinity', NULL, NULL, NULL, 'a',
                        NULL, '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '1999-12-31'),
                       ('00000000-0000-0000-0000-000000000004', NULL, NULL, NULL, 'Infinity', NULL, NULL, NULL, NULL,
                        '\\xdeadbeef', '-infinity', 'infinity', 'infinity')""");
        runExport("delta", "lake", "iceberg", "app.all_types");
        ThreeReaders.assertAgree(jdbc, ours("lake.app_all_types"), "app.all_types");
        jdbc.update("UPDATE app.all_types SET small = 8, tstz = '2026-05-06 07:08:09.123456+02' WHERE small = 7");
        jdbc.update("DELETE FROM app.all_types WHERE id = '00000000-0000-0000-0000-000000000003'");
        jdbc.update("UPDATE app.all_types SET id = '00000000-0000-0000-0000-000000000005' "
                + "WHERE id = '00000000-0000-0000-0000-000000000004'");
        runExport("delta", "lake", "iceberg", "app.all_types");
        duck = ThreeReaders.assertAgree(jdbc, ours("lake.app_all_types"), "app.all_types");
        assertThat(duck.files(2)).as("equality deletes on a uuid key").isPositive();
        assertThat(duck.byKey()).hasSize(3).containsKey("00000000-0000-0000-0000-000000000005");
    }

    /** The type DuckDB gives each column of app.all_types's Iceberg table, read from the encoder's parquet. */
    private static final Map<String, String> ALL_TYPES_IN_DUCKDB = orderedMap("id", "UUID", "num", "VARCHAR",
            "small", "SMALLINT", "big", "BIGINT", "real8", "DOUBLE", "flag", "BOOLEAN", "txt", "VARCHAR",
            "vc", "VARCHAR", "ch", "VARCHAR", "ints", "VARCHAR", "texts", "VARCHAR", "doc", "VARCHAR", "raw", "BLOB",
            "ts", "TIMESTAMP", "tstz", "TIMESTAMP WITH TIME ZONE", "day", "DATE", "span", "VARCHAR",
            "clock", "VARCHAR");

    private static Map<String, String> orderedMap(String... pairs) {
        Map<String, String> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], pairs[i + 1]);
        }
        return map;
    }

    @Test
    void upkeepExpiresOldSnapshotsAndRemovesOldOrphanFilesWithoutChangingTheTable() throws IOException {
        OrdersTable.insert(jdbc, 1, 50);
        toIceberg("delta", "lake");
        for (int i = 0; i < 3; i++) {
            jdbc.update("UPDATE app.orders SET total = total + 1 WHERE id = ?", i + 1);
            toIceberg("delta", "lake");
        }
        Path data = OUTPUT_DIR.resolve("iceberg/lake/app_orders/data");
        Path old = Files.writeString(data.resolve("left-by-a-killed-attempt.parquet"), "x");
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(java.time.Instant.now()
                .minus(java.time.Duration.ofHours(2))));
        Path young = Files.writeString(data.resolve("being-written-now.parquet"), "x");
        TableIdentifier id = TableIdentifier.parse("lake.app_orders");
        Map<Long, String> expected = OrdersTable.live(jdbc, "true");

        IcebergUpkeep.Result now = upkeep.run(id, java.time.Instant.now());
        assertThat(now.removedFiles()).isEqualTo(1);
        assertThat(old).doesNotExist();
        assertThat(young).exists();
        assertThat(now.expiredSnapshots()).as("all within ICEBERG_SNAPSHOT_RETENTION").isZero();

        IcebergUpkeep.Result later = upkeep.run(id, java.time.Instant.now().plus(java.time.Duration.ofDays(8)));
        assertThat(later.expiredSnapshots()).isEqualTo(3);
        Table table = ours("lake.app_orders");
        assertThat(table.snapshots()).hasSize(1);
        assertThat(OrdersTable.inIceberg(table)).isEqualTo(expected);
        assertThat(OrdersTable.inIceberg(theirs("lake.app_orders"))).isEqualTo(expected);
        assertThat(upkeep.lastUpkeeps()).extracting(IcebergUpkeep.LastUpkeep::table).contains("lake.app_orders");
    }

    @Test
    void anEmptyTableBecomesAnEmptyIcebergTableAndAKeyChangeIsRefused() {
        runExport("delta", "lake", "iceberg", "app.order_lines");
        Table lines = ours("lake.app_order_lines");
        try (CloseableIterable<Record> records = IcebergGenerics.read(lines).build()) {
            assertThat(records).isEmpty();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        assertThat(ThreeReaders.assertAgree(jdbc, lines, "app.order_lines").rows()).isEmpty();
        jdbc.update("INSERT INTO app.order_lines (order_id, line_no, sku, qty) VALUES (7, 1, 'a', 2)");
        runExport("delta", "lake", "iceberg", "app.order_lines");
        lines.refresh();
        assertThat(lines.currentSnapshot().summary()).containsEntry("total-records", "1");
        assertThat(ThreeReaders.assertAgree(jdbc, lines, "app.order_lines").byKey()).containsOnlyKeys("7/1");

        OrdersTable.insert(jdbc, 1, 3);
        toIceberg("full", "lake");
        jdbc.execute("ALTER TABLE app.orders DROP CONSTRAINT orders_pkey, ADD PRIMARY KEY (id, customer)");
        try {
            Api.Response refused = api.post("/exports/full?format=iceberg&table=app.orders", "lake");
            assertThat(awaitJob(refused.field("jobId"))).isEqualTo("failed");
            assertThat(jdbc.queryForObject("SELECT error || ' / ' || coalesce(error_detail, '') FROM cdc.export_jobs "
                    + "WHERE id = ?::uuid", String.class, refused.field("jobId"))).contains("The key of ")
                    .contains("drop it and run a full export");
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    @Test
    void anIcebergJobHasNoFileToDownload() {
        OrdersTable.insert(jdbc, 1, 2);
        Api.Response job = toIceberg("full", "lake");
        Api.Response file = api.get("/exports/jobs/" + job.field("jobId") + "/file", "lake");
        assertThat(file.status()).isEqualTo(409);
        assertThat(file.header("Content-Type")).startsWith("application/problem+json");
        assertThat(file.field("detail")).contains("Iceberg tables (lake.app_orders)");

        Api.Response tables = api.get("/exports/iceberg", "lake");
        assertThat(tables.status()).isEqualTo(200);
        assertThat(tables.json().path("tables")).hasSize(1);
        assertThat(tables.json().path("tables").get(0).path("table").asString()).isEqualTo("lake.app_orders");
        assertThat(tables.json().path("tables").get(0).path("sourceTable").asString()).isEqualTo("app.orders");
        assertThat(tables.json().path("tables").get(0).path("records").asLong()).isEqualTo(2);
        assertThat(tables.json().path("tables").get(0).path("lastJobId").asString()).isEqualTo(job.field("jobId"));
        assertThat(tables.json().path("tables").get(0).path("metadataLocation").asString())
                .isEqualTo(((org.apache.iceberg.HasTableOperations) ours("lake.app_orders")).operations().current()
                        .metadataFileLocation());
        assertThat(api.get("/exports/iceberg", "other").json().path("tables")).as("another consumer's").isEmpty();
    }

    @Test
    void eachTableOfAnExportGetsItsOwnIcebergTableCommittedWithTheOthers() {
        OrdersTable.insert(jdbc, 1, 5);
        jdbc.update("INSERT INTO app.order_lines (order_id, line_no, sku, qty) VALUES (1, 1, 'a', 2), (1, 2, 'b', 1)");
        Api.Response job = runExport("full", "lake", "iceberg", "app.orders", "app.order_lines");
        Table orders = ours("lake.app_orders");
        Table lines = ours("lake.app_order_lines");
        assertThat(OrdersTable.inIceberg(orders)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(lines.schema().identifierFieldNames()).containsExactlyInAnyOrder("order_id", "line_no");
        assertThat(List.of(orders.currentSnapshot().summary().get("cdc.job-id"),
                lines.currentSnapshot().summary().get("cdc.job-id"))).containsOnly(job.field("jobId"));
        assertThat(orders.currentSnapshot().summary().get("cdc.snapshot"))
                .isEqualTo(lines.currentSnapshot().summary().get("cdc.snapshot"));
    }
}
