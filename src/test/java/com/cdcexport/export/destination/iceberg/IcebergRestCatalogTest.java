package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.RestCatalogServer;

/**
 * Exports applied to Iceberg tables in a REST catalog (ICEBERG_CATALOG=rest): a real catalog over HTTP
 * ({@link RestCatalogServer}, Iceberg's server-side handlers), the service's client Iceberg's RESTCatalog. The
 * tables are read back by Iceberg's generic reader through the catalog's own, in-process view of them. Covers the
 * protocol of docs/capture.md, "With a REST catalog": the two systems committed one after the other, a failure
 * between them, another writer committing first, a table that is no longer where the consumer's last export left it.
 */
class IcebergRestCatalogTest extends IntegrationTest {

    private static final Path REST_WAREHOUSE = tempDirectory();
    private static final RestCatalogServer CATALOG = startCatalog();

    @Autowired
    private IcebergDestination iceberg;
    @Autowired
    private IcebergUpkeep upkeep;

    @DynamicPropertySource
    static void restCatalog(DynamicPropertyRegistry registry) {
        registry.add("cdc.iceberg.catalog", () -> "rest");
        registry.add("cdc.iceberg.rest-uri", CATALOG::uri);
    }

    private static Path tempDirectory() {
        try {
            return Files.createTempDirectory("cdc-rest-catalog");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static RestCatalogServer startCatalog() {
        try {
            return RestCatalogServer.start(REST_WAREHOUSE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void stopCatalog() {
        CATALOG.close();
    }

    @AfterEach
    void dropTestHooks() {
        OrdersTable.commitsSucceed(jdbc);
        CATALOG.beforeNextCommit(null);
    }

    /** The table as the catalog itself holds it (not through the service's client). */
    private static Table inCatalog(String name) {
        return CATALOG.catalog().loadTable(TableIdentifier.parse(name));
    }

    private Api.Response toIceberg(String type, String consumer, String... tables) {
        return runExport(type, consumer, "iceberg", tables.length == 0 ? new String[] {"app.orders"} : tables);
    }

    private String watermark(String consumer, String table) {
        return jdbc.queryForObject("SELECT snapshot::text FROM cdc.watermarks WHERE consumer_id = ? "
                + "AND table_name = ?", String.class, consumer, table);
    }

    private static List<Snapshot> history(Table table) {
        List<Snapshot> snapshots = new ArrayList<>();
        for (Snapshot s = table.currentSnapshot(); s != null; s = s.parentId() == null ? null
                : table.snapshot(s.parentId())) {
            snapshots.add(0, s);
        }
        return snapshots;
    }

    private Map<Long, String> liveUsers() {
        Map<Long, String> rows = new TreeMap<>();
        jdbc.query("SELECT id, name, email FROM users", rs -> {
            rows.put(rs.getLong(1), rs.getString(2) + "|" + rs.getString(3));
        });
        return rows;
    }

    private static Map<Long, String> usersIn(Table table) {
        Map<Long, String> rows = new TreeMap<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            for (Record r : records) {
                assertThat(rows.put((Long) r.getField("id"), r.getField("name") + "|" + r.getField("email")))
                        .as("key %s once", r.getField("id")).isNull();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    @Test
    void fullThenDeltasOfSeveralTablesCommitToTheRestCatalogTogetherAndEqualTheLiveTables() {
        Api.Response readiness = api.get("/actuator/health/readiness", null);
        assertThat(readiness.status()).isEqualTo(200);
        assertThat(readiness.json().path("components").path("icebergWarehouse").path("status").asString())
                .as("readiness asks the REST catalog").isEqualTo("UP");
        OrdersTable.insert(jdbc, 1, 300);
        insertUsers(40);
        int commits = CATALOG.commits();
        Api.Response full = toIceberg("full", "lake", "app.orders", "public.users");
        assertThat(CATALOG.commits() - commits).as("both tables in one multi-table commit").isEqualTo(1);
        assertThat(OrdersTable.inIceberg(inCatalog("lake.app_orders"))).hasSize(300)
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(usersIn(inCatalog("lake.users"))).hasSize(40).isEqualTo(liveUsers());
        assertThat(inCatalog("lake.users").currentSnapshot().summary())
                .containsEntry("cdc.job-id", full.field("jobId"));

        toIceberg("delta", "lake", "app.orders", "public.users");
        OrdersTable.payThreeAndDeleteOne(jdbc);
        OrdersTable.insert(jdbc, 301, 305);
        jdbc.update("UPDATE users SET email = 'new@example.com' WHERE id = 7");
        jdbc.update("DELETE FROM users WHERE id = 8");
        Api.Response delta = toIceberg("delta", "lake", "app.orders", "public.users");

        Table orders = inCatalog("lake.app_orders");
        assertThat(OrdersTable.inIceberg(orders)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(OrdersTable.inIceberg(iceberg.catalog().loadTable(TableIdentifier.parse("lake.app_orders"))))
                .as("through the service's own client").isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(usersIn(inCatalog("lake.users"))).isEqualTo(liveUsers());
        Map<String, String> summary = orders.currentSnapshot().summary();
        assertThat(summary).containsEntry("cdc.job-id", delta.field("jobId"))
                .containsEntry("cdc.snapshot", watermark("lake", "app.orders"))
                .containsEntry("added-records", "8").containsKey("cdc.previous-snapshot");
        assertThat(jdbc.queryForObject("SELECT iceberg_snapshot_id FROM cdc.iceberg_applied WHERE consumer_id = "
                + "'lake' AND table_name = 'app.orders'", Long.class))
                .isEqualTo(orders.currentSnapshot().snapshotId());
        assertThat(iceberg.tables(new com.cdcexport.consumer.ConsumerId("lake")))
                .extracting(IcebergDestination.TableState::table).containsExactly("lake.app_orders", "lake.users");

        assertThat(upkeep.runAll()).as("upkeep through the REST catalog").isTrue();
        assertThat(upkeep.lastUpkeeps()).extracting(IcebergUpkeep.LastUpkeep::table)
                .contains("lake.app_orders", "lake.users");
        assertThat(OrdersTable.inIceberg(inCatalog("lake.app_orders"))).isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    @Test
    void aFailureBetweenTheIcebergCommitAndTheWatermarkIsCoveredByTheNextWindowFromTheSameWatermark()
            throws IOException {
        OrdersTable.insert(jdbc, 1, 200);
        toIceberg("delta", "crash");
        String watermark = watermark("crash", "app.orders");
        long before = inCatalog("crash.app_orders").currentSnapshot().snapshotId();

        // The catalog takes the commit; the database transaction then fails at COMMIT: the watermark stays.
        OrdersTable.watermarkCommitsFail(jdbc);
        OrdersTable.payThreeAndDeleteOne(jdbc);
        Api.Response failed = api.post("/exports/delta?format=iceberg&table=app.orders", "crash");
        assertThat(awaitJob(failed.field("jobId"))).isEqualTo("failed");
        assertThat(watermark("crash", "app.orders")).isEqualTo(watermark);
        Table table = inCatalog("crash.app_orders");
        Snapshot committed = table.currentSnapshot();
        assertThat(committed.summary()).as("the window is in the table")
                .containsEntry("cdc.job-id", failed.field("jobId")).containsEntry("cdc.previous-snapshot", watermark);
        assertThat(committed.parentId()).isEqualTo(before);
        assertThat(OrdersTable.inIceberg(table)).as("its files were kept: the catalog references them")
                .isEqualTo(OrdersTable.live(jdbc, "true"));

        OrdersTable.commitsSucceed(jdbc);
        jdbc.update("UPDATE app.orders SET total = 0 WHERE id IN (1, 50)");
        Api.Response next = toIceberg("delta", "crash");
        table = inCatalog("crash.app_orders");
        assertThat(OrdersTable.inIceberg(table)).as("nothing skipped, nothing twice")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        Map<String, String> summary = table.currentSnapshot().summary();
        assertThat(summary).as("the window from the unmoved watermark: P to a later S, over the table at S1")
                .containsEntry("cdc.job-id", next.field("jobId")).containsEntry("cdc.previous-snapshot", watermark)
                .containsEntry("cdc.snapshot", watermark("crash", "app.orders"))
                .containsEntry("added-records", "4");
        assertThat(table.currentSnapshot().parentId()).isEqualTo(committed.snapshotId());
    }

    @Test
    void anotherWriterCommittingFirstIsRetriedForOneTableAndForSeveral() {
        OrdersTable.insert(jdbc, 1, 100);
        insertUsers(10);
        toIceberg("delta", "busy", "app.orders", "public.users");

        OrdersTable.payThreeAndDeleteOne(jdbc);
        CATALOG.beforeNextCommit(catalog -> catalog.loadTable(TableIdentifier.parse("busy.app_orders"))
                .newAppend().set("other-writer", "one").commit());
        int commits = CATALOG.commits();
        toIceberg("delta", "busy");
        assertThat(CATALOG.commits() - commits).as("refused once, then committed").isEqualTo(2);
        Table orders = inCatalog("busy.app_orders");
        assertThat(OrdersTable.inIceberg(orders)).isEqualTo(OrdersTable.live(jdbc, "true"));
        List<Snapshot> history = history(orders);
        assertThat(history.get(history.size() - 2).summary()).containsEntry("other-writer", "one");

        jdbc.update("UPDATE app.orders SET total = 1 WHERE id = 9");
        jdbc.update("UPDATE users SET name = 'Renamed' WHERE id = 2");
        CATALOG.beforeNextCommit(catalog -> catalog.loadTable(TableIdentifier.parse("busy.users"))
                .newAppend().set("other-writer", "two").commit());
        commits = CATALOG.commits();
        toIceberg("delta", "busy", "app.orders", "public.users");
        assertThat(CATALOG.commits() - commits).as("the multi-table commit refused once, then made again")
                .isEqualTo(2);
        orders = inCatalog("busy.app_orders");
        assertThat(OrdersTable.inIceberg(orders)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(usersIn(inCatalog("busy.users"))).isEqualTo(liveUsers());
        assertThat(orders.currentSnapshot().summary()).as("still a window: the other writer is passed over")
                .containsEntry("added-records", "1");
        history = history(inCatalog("busy.users"));
        assertThat(history.get(history.size() - 2).summary()).containsEntry("other-writer", "two");
    }

    @Test
    void aTableRolledBackByAnotherWriterIsReadWhole() {
        OrdersTable.insert(jdbc, 1, 50);
        toIceberg("delta", "rolled");
        long first = inCatalog("rolled.app_orders").currentSnapshot().snapshotId();
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id = 1");
        toIceberg("delta", "rolled");
        inCatalog("rolled.app_orders").manageSnapshots().rollbackTo(first).commit();

        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id = 2");
        toIceberg("delta", "rolled");
        Table table = inCatalog("rolled.app_orders");
        assertThat(OrdersTable.inIceberg(table)).as("the rolled-back window is not lost")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(table.currentSnapshot().summary()).as("read whole").containsEntry("added-records", "50");
    }
}
