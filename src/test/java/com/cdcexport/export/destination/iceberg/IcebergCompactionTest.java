package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.support.Api;
import com.cdcexport.support.DuckDbIcebergReader;
import com.cdcexport.support.IntegrationTest;

/**
 * Upkeep's rewrite of tables that deltas gave many equality-delete files, read back by Iceberg's own generic reader
 * (which applies the delete files itself): before and after the rewrite the table holds the same rows, the live
 * table's, with no delete file after it, and exports go on on top of it. Same properties as IcebergExportTest, so
 * the two share a Spring context.
 */
@TestPropertySource(properties = {"cdc.auth.admin-token=" + IcebergExportTest.ADMIN_TOKEN,
        "cdc.parallel.parallelism=2", "cdc.parallel.min-rows=500"})
class IcebergCompactionTest extends IntegrationTest {

    private static final TableIdentifier ORDERS = TableIdentifier.parse("lake.app_orders");

    @Autowired
    private IcebergDestination iceberg;
    @Autowired
    private IcebergUpkeep upkeep;

    private Table table(String name) {
        return iceberg.catalog().loadTable(TableIdentifier.parse(name));
    }

    private Api.Response delta(String table) {
        return runExport("delta", "lake", "iceberg", table);
    }

    private static long summaryCount(Table table, String key) {
        return Long.parseLong(table.currentSnapshot().summary().getOrDefault(key, "0"));
    }

    /** Every record of the table as text, sorted: what Iceberg's reader makes of data and delete files together. */
    private static List<String> records(Table table) throws IOException {
        TreeSet<String> rows = new TreeSet<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            for (Record r : records) {
                StringBuilder row = new StringBuilder();
                // by the schema's columns: with position deletes the reader adds its own _pos to each record
                for (int i = 0; i < table.schema().columns().size(); i++) {
                    Object value = r.getField(table.schema().columns().get(i).name());
                    row.append(i == 0 ? "" : ", ").append(value instanceof java.nio.ByteBuffer bytes
                            ? java.util.HexFormat.of().formatHex(org.apache.iceberg.util.ByteBuffers.toByteArray(bytes))
                            : String.valueOf(value));
                }
                assertThat(rows.add(row.toString())).as("each row once: %s", row).isTrue();
            }
        }
        return new ArrayList<>(rows);
    }

    /** Orders 1 to 400, then eight deltas of updates, deletes, inserts and a key deleted and inserted again. */
    private void ordersAfterEightDeltas() {
        OrdersTable.insert(jdbc, 1, 400);
        delta("app.orders");
        for (int i = 1; i <= 8; i++) {
            jdbc.update("UPDATE app.orders SET total = total + ?, status = 'round " + i + "' WHERE id % 9 = ?", i, i);
            jdbc.update("DELETE FROM app.orders WHERE id BETWEEN ? AND ?", i * 20, i * 20 + 2);
            OrdersTable.insert(jdbc, 1000 + i * 10, 1000 + i * 10 + 4);
            if (i == 4) {
                OrdersTable.insert(jdbc, 40, 40);                                  // deleted in round 2, back
            }
            delta("app.orders");
        }
    }

    @Test
    void upkeepRewritesATableWithManyDeltasToItsLiveRowsAndTheNextExportsApplyOnTop() throws IOException {
        ordersAfterEightDeltas();
        Table before = table("lake.app_orders");
        long dataFiles = summaryCount(before, "total-data-files");
        assertThat(summaryCount(before, "total-delete-files")).as("ICEBERG_COMPACT_DELETE_FILES is 8").isEqualTo(8);
        assertThat(ThreeReaders.assertAgree(jdbc, before, "app.orders").files(2)).as("DuckDB applies 8 deltas")
                .isEqualTo(8);
        String lastJob = iceberg.tables(new ConsumerId("lake")).get(0).lastJobId();

        IcebergUpkeep.Result result = upkeep.run(ORDERS, Instant.now());

        assertThat(result.rewrite()).isNotNull();
        assertThat(result.rewrite().committed()).as(result.rewrite().toString()).isTrue();
        Table after = table("lake.app_orders");
        assertThat(OrdersTable.inIceberg(after)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(OrdersTable.inIceberg(TheirCatalog.load("lake.app_orders", Map.of("io-impl",
                LocalFileIO.class.getName(), "warehouse", OUTPUT_DIR.resolve("iceberg").toUri().toString()))))
                .as("through Iceberg's JDBC catalog").isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(summaryCount(after, "total-delete-files")).isZero();
        assertThat(summaryCount(after, "total-equality-deletes")).isZero();
        assertThat(ThreeReaders.assertAgree(jdbc, after, "app.orders").files()).as("DuckDB reads the rewrite's file")
                .singleElement().satisfies(f -> assertThat(f.location()).contains("upkeep-rewrite"));
        assertThat(summaryCount(after, "total-data-files")).isEqualTo(1).isLessThan(dataFiles);
        assertThat(summaryCount(after, "total-records")).isEqualTo(OrdersTable.live(jdbc, "true").size());
        assertThat(after.currentSnapshot().operation()).isEqualTo("replace");
        assertThat(after.currentSnapshot().summary()).containsEntry("cdc.upkeep", "rewrite")
                .containsEntry("cdc.job-id", lastJob);
        IcebergDestination.TableState state = iceberg.tables(new ConsumerId("lake")).get(0);
        assertThat(state.lastJobId()).as("the last export is still the rewrite's").isEqualTo(lastJob);
        assertThat(state.deleteFiles()).isZero();
        assertThat(upkeep.lastUpkeeps()).singleElement().satisfies(last -> {
            assertThat(last.lastRewrite()).isNotNull();
            assertThat(last.lastRewrite().deleteFiles()).isEqualTo(8);
            assertThat(last.lastRewrite().dataFiles()).isEqualTo((int) dataFiles);
        });
        assertThat(upkeep.run(ORDERS, Instant.now()).rewrite()).as("not due again").isNull();

        jdbc.update("UPDATE app.orders SET status = 'after' WHERE id IN (1, 2, 1011)");
        jdbc.update("DELETE FROM app.orders WHERE id IN (3, 1012)");
        OrdersTable.insert(jdbc, 5000, 5001);
        Api.Response next = delta("app.orders");
        assertThat(OrdersTable.inIceberg(table("lake.app_orders"))).as("a delta on the rewritten files")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(summaryCount(table("lake.app_orders"), "total-delete-files"))
                .as("applied as a window (one equality-delete file), not read whole past the rewrite").isEqualTo(1);
        assertThat(iceberg.tables(new ConsumerId("lake")).get(0).lastJobId()).isEqualTo(next.field("jobId"));

        jdbc.update("UPDATE app.orders SET total = 1 WHERE id = 4");
        runExport("incremental", "lake", "iceberg", "app.orders");
        jdbc.update("DELETE FROM app.orders WHERE id = 5");
        runExport("full", "lake", "iceberg", "app.orders");
        assertThat(OrdersTable.inIceberg(table("lake.app_orders"))).as("incremental, then full")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    @Test
    void aDeltaCommittedWhileTheRewriteRunsIsKeptAndNoDeletedRowComesBack() {
        ordersAfterEightDeltas();
        String[] concurrent = new String[1];

        IcebergUpkeep.Result result = upkeep.run(ORDERS, Instant.now(), () -> {
            // between the rewrite's read of the table and its commit
            jdbc.update("UPDATE app.orders SET status = 'during' WHERE id IN (1, 2)");
            jdbc.update("DELETE FROM app.orders WHERE id IN (6, 7)");
            OrdersTable.insert(jdbc, 7000, 7002);
            concurrent[0] = delta("app.orders").field("jobId");
        });

        assertThat(result.rewrite().committed()).as(result.rewrite().toString()).isTrue();
        Table table = table("lake.app_orders");
        assertThat(OrdersTable.inIceberg(table)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(summaryCount(table, "total-delete-files")).as("the concurrent delta's, which still applies")
                .isEqualTo(1);
        DuckDbIcebergReader.Contents duck = ThreeReaders.assertAgree(jdbc, table, "app.orders");
        DuckDbIcebergReader.LiveFile rewritten = duck.files().stream()
                .filter(f -> f.location().contains("upkeep-rewrite")).findFirst().orElseThrow();
        DuckDbIcebergReader.LiveFile deletes = duck.files().stream().filter(f -> f.content() == 2).findFirst()
                .orElseThrow();
        assertThat(rewritten.sequenceNumber()).as("the rewrite keeps the data sequence number of what it read, "
                + "below the concurrent delta's deletes").isLessThan(deletes.sequenceNumber())
                .isLessThan(rewritten.fileSequenceNumber());
        assertThat(iceberg.tables(new ConsumerId("lake")).get(0).lastJobId())
                .as("the concurrent delta is the last export, though the rewrite committed after it")
                .isEqualTo(concurrent[0]);

        jdbc.update("UPDATE app.orders SET status = 'later' WHERE id = 1");
        delta("app.orders");
        assertThat(OrdersTable.inIceberg(table("lake.app_orders"))).isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    @Test
    void aFullExportWhileTheRewriteRunsWinsAndTheRewritesFilesAreRemoved() throws IOException {
        ordersAfterEightDeltas();
        IcebergUpkeep.Result result = upkeep.run(ORDERS, Instant.now(), () -> {
            jdbc.update("DELETE FROM app.orders WHERE id = 8");
            runExport("full", "lake", "iceberg", "app.orders");
        });

        assertThat(result.rewrite().committed()).as("its files are gone from the table").isFalse();
        assertThat(OrdersTable.inIceberg(table("lake.app_orders"))).isEqualTo(OrdersTable.live(jdbc, "true"));
        try (var files = java.nio.file.Files.list(OUTPUT_DIR.resolve("iceberg/lake/app_orders/data"))) {
            assertThat(files.map(f -> f.getFileName().toString())).noneMatch(f -> f.startsWith("upkeep-rewrite"));
        }
    }

    @Test
    void positionDeletesAnotherEngineWroteAreAppliedByTheRewrite() throws IOException {
        OrdersTable.insert(jdbc, 1, 50);
        delta("app.orders");
        Table table = table("lake.app_orders");
        String firstFile;
        try (CloseableIterable<org.apache.iceberg.FileScanTask> tasks = table.newScan().planFiles()) {
            firstFile = tasks.iterator().next().file().location();
        }
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id <= 5");
        delta("app.orders");
        table.refresh();
        // as Spark's merge-on-read DELETE would: rows 10 to 12 of the first file, by position
        String location = table.locationProvider().newDataLocation("engine-deletes.parquet");
        org.apache.iceberg.deletes.PositionDeleteWriter<Record> positions = org.apache.iceberg.parquet.Parquet
                .writeDeletes(table.io().newOutputFile(location))
                .withSpec(table.spec()).overwrite().buildPositionWriter();
        try (positions) {
            for (long position = 10; position <= 12; position++) {
                positions.write(org.apache.iceberg.deletes.PositionDelete.<Record>create().set(firstFile, position));
            }
        }
        table.newRowDelta().addDeletes(positions.toDeleteFile()).commit();
        List<String> before = records(table);
        assertThat(before).hasSize(47);
        DuckDbIcebergReader.Contents duck = ThreeReaders.assertDuckDbAgreesWithIceberg(jdbc, table);
        assertThat(duck.files(1)).as("DuckDB applies parquet-java's position deletes").isEqualTo(1);
        assertThat(duck.byKey()).hasSize(47);

        IcebergCompaction.Outcome outcome = new IcebergCompaction(1, 1000).rewrite(table, () -> { });

        assertThat(outcome.committed()).as(outcome.toString()).isTrue();
        assertThat(outcome.deleteFilesRemoved()).isEqualTo(2);
        table.refresh();
        assertThat(records(table)).isEqualTo(before);
        assertThat(summaryCount(table, "total-delete-files")).isZero();
    }

    @Test
    void compositeKeysAreDeletedByAllTheirFieldsInEveryPassOfARewriteThatHoldsFewKeys() throws IOException {
        jdbc.update("INSERT INTO app.order_lines (order_id, line_no, sku, qty) SELECT o, l, 'sku-' || o || '-' || l, "
                + "l FROM generate_series(1, 40) o, generate_series(1, 3) l");
        delta("app.order_lines");
        jdbc.update("DELETE FROM app.order_lines WHERE (order_id, line_no) IN ((1, 2), (2, 1), (2, 3), (10, 1))");
        jdbc.update("UPDATE app.order_lines SET qty = 99 WHERE order_id = 3 OR line_no = 3 AND order_id < 8");
        delta("app.order_lines");
        jdbc.update("INSERT INTO app.order_lines VALUES (1, 2, 'back', 7), (41, 1, 'new', 1)");
        jdbc.update("DELETE FROM app.order_lines WHERE order_id = 4");
        delta("app.order_lines");
        Table table = table("lake.app_order_lines");
        List<String> before = records(table);
        assertThat(before).hasSize(jdbc.queryForObject("SELECT count(*) FROM app.order_lines", Integer.class));
        assertThat(ThreeReaders.assertAgree(jdbc, table, "app.order_lines").files(2))
                .as("DuckDB matches deletes on both key columns").isEqualTo(2);

        IcebergCompaction.Outcome outcome = new IcebergCompaction(1, 2).rewrite(table, () -> { });

        assertThat(outcome.committed()).as(outcome.toString()).isTrue();
        assertThat(outcome.passes()).as("2 keys at a time").isGreaterThan(1);
        table.refresh();
        assertThat(records(table)).isEqualTo(before);
        assertThat(summaryCount(table, "total-delete-files")).isZero();
        jdbc.update("DELETE FROM app.order_lines WHERE (order_id, line_no) = (1, 1)");
        delta("app.order_lines");
        table.refresh();
        assertThat(records(table)).hasSize(before.size() - 1).noneMatch(r -> r.startsWith("1, 1,"));
    }

    @Test
    void everyTypeKeepsItsValueThroughARewrite() throws IOException {
        jdbc.update("""
                INSERT INTO app.all_types (id, num, small, big, real8, flag, txt, vc, ch, ints, texts, doc, raw, ts,
                                           tstz, day, span, clock)
                VALUES ('6f1c3a52-9d4b-4e7a-8c2e-1f0a9b8c7d6e', 12345.678901, 7, 9000000000, 2.5, true, 'tëxt', 'vc',
                        'ab', '{1,2}', '{a,b}', '{"k": 1}', '\\x00ff', '2026-02-03 04:05:06.789',
                        '2026-02-03 04:05:06.789+00', '2026-02-03', '1 day', '04:05:06'),
                       ('00000000-0000-0000-0000-000000000002', NULL, -32768, -1, 'NaN', false, '', NULL, NULL, NULL,
                        NULL, NULL, '\\x', 'infinity', '-infinity', '-infinity', NULL, NULL),
                       ('00000000-0000-0000-0000-000000000003', -0.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                        NULL, NULL, NULL, NULL, '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00',
                        '1999-12-31', NULL, NULL)""");
        delta("app.all_types");
        jdbc.update("UPDATE app.all_types SET small = 8 WHERE num = 12345.678901");
        jdbc.update("DELETE FROM app.all_types WHERE num = -0.5");
        delta("app.all_types");
        Table table = table("lake.app_all_types");
        List<String> before = records(table);
        assertThat(before).hasSize(2);
        ThreeReaders.assertAgree(jdbc, table, "app.all_types");

        IcebergCompaction.Outcome outcome = new IcebergCompaction(1, 1000).rewrite(table, () -> { });

        assertThat(outcome.committed()).as(outcome.toString()).isTrue();
        table.refresh();
        assertThat(records(table)).isEqualTo(before);
        assertThat(ThreeReaders.assertAgree(jdbc, table, "app.all_types").files()).as("the rewrite's file alone")
                .hasSize(1);
        assertThat(summaryCount(table, "total-delete-files")).isZero();
    }
}
