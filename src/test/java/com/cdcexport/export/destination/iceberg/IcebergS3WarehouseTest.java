package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.aws.s3.S3FileIO;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.S3MockProcess;

/**
 * Exports to Iceberg tables whose files are in S3 (S3Mock as a process: a real S3 API), the warehouse being the S3
 * sink's bucket by default ({@code s3://S3_BUCKET/S3_PREFIX/iceberg}), read back by Iceberg's own generic reader
 * through the service's catalog and through Iceberg's JDBC catalog with an S3FileIO of its own: after every export
 * the table equals the live one. An attempt that fails leaves no data file of its own in the bucket.
 */
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
@TestPropertySource(properties = "cdc.parallel.parallelism=1")
class IcebergS3WarehouseTest extends IntegrationTest {

    private static final String BUCKET = "lake-files";
    private static final String PREFIX = "exports";
    private static final String WAREHOUSE = "s3://" + BUCKET + "/" + PREFIX + "/iceberg";

    private static S3MockProcess s3;
    private static IcebergWarehouseTest.AwsCredentialsFromSystemProperties credentials;

    @Autowired
    private IcebergDestination iceberg;

    @Autowired
    private IcebergWarehouse warehouse;

    /** Started when the context asks for its endpoint, before the service's start-up checks the bucket. */
    private static synchronized S3MockProcess s3() {
        if (s3 == null) {
            s3 = S3MockProcess.start(BUCKET);
            credentials = IcebergWarehouseTest.AwsCredentialsFromSystemProperties.set();
        }
        return s3;
    }

    @DynamicPropertySource
    static void s3Sink(DynamicPropertyRegistry registry) {
        registry.add("cdc.sink", () -> "s3");
        registry.add("cdc.s3.bucket", () -> BUCKET);
        registry.add("cdc.s3.prefix", () -> PREFIX);
        registry.add("cdc.s3.endpoint", () -> s3().endpoint());
        registry.add("cdc.s3.path-style", () -> "true");
        registry.add("cdc.s3.region", () -> "us-east-1");
    }

    @AfterAll
    static void stopS3() {
        if (credentials != null) {
            credentials.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @AfterEach
    void dropTestHooks() {
        OrdersTable.commitsSucceed(jdbc);
    }

    private Table ours(String name) {
        return iceberg.catalog().loadTable(TableIdentifier.parse(name));
    }

    /**
     * Iceberg's JDBC catalog over the service's catalog rows, with an S3FileIO configured as an engine would be
     * (explicit keys): a reader that shares nothing with the service but the database and the bucket.
     */
    private static Map<Long, String> theirOrders(String name) {
        return OrdersTable.inIceberg(TheirCatalog.load(name, Map.of("warehouse", WAREHOUSE,
                "io-impl", S3FileIO.class.getName(), "s3.endpoint", s3.endpoint(), "s3.path-style-access", "true",
                "s3.access-key-id", S3MockProcess.ACCESS_KEY, "s3.secret-access-key", S3MockProcess.SECRET_KEY,
                "client.region", "us-east-1", "http-client.type", "urlconnection")));
    }

    private Api.Response toIceberg(String type, String consumer) {
        return runExport(type, consumer, "iceberg", "app.orders");
    }

    /** Keys of the table's data and delete files in the bucket. */
    private static List<String> dataKeys(String namespace, String table) {
        return s3.keys(BUCKET, PREFIX + "/iceberg/" + namespace + "/" + table + "/data/");
    }

    private List<Path> stagedFiles() throws IOException {
        try (Stream<Path> files = Files.list(warehouse.stagingDirectory())) {
            return files.toList();
        }
    }

    @Test
    void fullThenDeltasKeepTheTableInS3EqualToTheLiveTable() throws IOException {
        assertThat(iceberg.location()).isEqualTo(WAREHOUSE);
        Api.Response readiness = api.get("/actuator/health/readiness", null);
        assertThat(readiness.status()).isEqualTo(200);
        assertThat(readiness.json().path("components").path("icebergWarehouse").path("status").asString())
                .as("readiness asks the warehouse's bucket").isEqualTo("UP");
        OrdersTable.insert(jdbc, 1, 1200);
        Api.Response full = toIceberg("full", "lake");
        assertThat(full.field("outputFilename")).isEqualTo("lake.app_orders");
        Table table = ours("lake.app_orders");
        assertThat(table.location()).isEqualTo(WAREHOUSE + "/lake/app_orders");
        assertThat(((HasTableOperations) table).operations().current().metadataFileLocation())
                .startsWith(WAREHOUSE + "/lake/app_orders/metadata/").endsWith(".metadata.json");
        assertThat(table.io()).isInstanceOf(S3FileIO.class);
        assertThat(OrdersTable.inIceberg(table)).hasSize(1200).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(toIceberg("delta", "lake").status()).as("a first delta sets the watermark").isEqualTo(202);

        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id <= 10");
        jdbc.update("UPDATE app.orders SET total = total + 1 WHERE id <= 5");      // a key changed twice
        jdbc.update("DELETE FROM app.orders WHERE id BETWEEN 11 AND 20");
        OrdersTable.insert(jdbc, 1201, 1210);
        jdbc.update("DELETE FROM app.orders WHERE id = 1210");                     // born and gone in the window
        Api.Response delta = toIceberg("delta", "lake");

        table.refresh();
        assertThat(OrdersTable.inIceberg(table)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(theirOrders("lake.app_orders")).as("through Iceberg's JDBC catalog and its own S3FileIO")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(table.currentSnapshot().summary()).containsEntry("cdc.job-id", delta.field("jobId"))
                .containsEntry("added-delete-files", "1");

        // Everything in the bucket, under the table's location; nothing of it on local disk.
        List<String> keys = s3.keys(BUCKET, "");
        assertThat(keys).allMatch(k -> k.startsWith(PREFIX + "/iceberg/lake/app_orders/"), "under the table");
        assertThat(keys).filteredOn(k -> k.contains("/data/") && k.endsWith(".parquet")).hasSizeGreaterThanOrEqualTo(3);
        assertThat(keys).filteredOn(k -> k.contains("/metadata/") && k.endsWith(".metadata.json")).isNotEmpty();
        assertThat(keys).filteredOn(k -> k.contains("/metadata/") && k.endsWith(".avro")).isNotEmpty();
        assertThat(OUTPUT_DIR.resolve("iceberg")).doesNotExist();
        assertThat(stagedFiles()).as("uploads' staging files removed").isEmpty();
        assertThat(s3.openUploads(BUCKET, "")).isEmpty();

        jdbc.update("DELETE FROM app.orders WHERE id > 100");
        toIceberg("full", "lake");
        assertThat(OrdersTable.inIceberg(ours("lake.app_orders"))).as("a full export replaces everything")
                .hasSize(OrdersTable.live(jdbc, "true").size()).isEqualTo(OrdersTable.live(jdbc, "true"));

        Api.Response tables = api.get("/exports/iceberg", "lake");
        assertThat(tables.json().path("tables").get(0).path("metadataLocation").asString())
                .startsWith(WAREHOUSE + "/lake/app_orders/metadata/");
    }

    @Test
    void upkeepsRewriteReadsAndWritesTheTablesFilesInTheBucket() {
        OrdersTable.insert(jdbc, 1, 300);
        toIceberg("delta", "compacts");
        OrdersTable.payThreeAndDeleteOne(jdbc);
        toIceberg("delta", "compacts");
        jdbc.update("DELETE FROM app.orders WHERE id BETWEEN 100 AND 120");
        OrdersTable.insert(jdbc, 301, 305);
        toIceberg("delta", "compacts");
        Table table = ours("compacts.app_orders");

        IcebergCompaction.Outcome outcome = new IcebergCompaction(1, 1000).rewrite(table, () -> { });

        assertThat(outcome.committed()).as(outcome.toString()).isTrue();
        table.refresh();
        assertThat(table.currentSnapshot().summary()).containsEntry("total-delete-files", "0")
                .containsEntry("total-data-files", "1");
        assertThat(OrdersTable.inIceberg(table)).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(theirOrders("compacts.app_orders")).as("through Iceberg's JDBC catalog and its own S3FileIO")
                .isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(dataKeys("compacts", "app_orders")).anyMatch(k -> k.contains("/upkeep-rewrite-"));
    }

    @Test
    void anAttemptWhoseCommitFailsLeavesNoDataFileOfItsOwnInTheBucket() {
        OrdersTable.insert(jdbc, 1, 20);
        toIceberg("delta", "fails");
        List<String> before = dataKeys("fails", "app_orders");
        assertThat(before).hasSize(1);
        long snapshot = ours("fails.app_orders").currentSnapshot().snapshotId();

        // The export's transaction swaps the pointer, then fails at COMMIT (a deferred trigger): its data and delete
        // files were uploaded by then.
        OrdersTable.commitsFailAtCommit(jdbc);
        OrdersTable.payThreeAndDeleteOne(jdbc);
        Api.Response failed = api.post("/exports/delta?format=iceberg&table=app.orders", "fails");
        assertThat(awaitJob(failed.field("jobId"))).isEqualTo("failed");

        assertThat(ours("fails.app_orders").currentSnapshot().snapshotId()).isEqualTo(snapshot);
        assertThat(dataKeys("fails", "app_orders")).as("the failed attempt's data and delete files removed")
                .isEqualTo(before);

        dropTestHooks();
        toIceberg("delta", "fails");
        assertThat(OrdersTable.inIceberg(ours("fails.app_orders"))).isEqualTo(OrdersTable.live(jdbc, "true"));
        assertThat(dataKeys("fails", "app_orders")).hasSize(3);
    }

    @Test
    void anAttemptThatFailsWhileReadingLeavesNoDataFileOfItsOwnInTheBucket() throws Exception {
        OrdersTable.insert(jdbc, 1, 50);
        toIceberg("full", "reads");
        List<String> before = dataKeys("reads", "app_orders");
        assertThat(before).hasSize(1);
        OrdersTable.insert(jdbc, 51, 400_000);

        // Cut the export's connection while it reads: its data file is open (staged locally until complete).
        Api.Response started = api.post("/exports/full?format=iceberg&table=app.orders", "reads");
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        int backend = awaitCopyWithAFileStaged();
        jdbc.queryForObject("SELECT pg_terminate_backend(?)", Boolean.class, backend);
        assertThat(awaitJob(started.field("jobId"))).isEqualTo("failed");

        assertThat(dataKeys("reads", "app_orders")).as("nothing of the failed attempt").isEqualTo(before);
        assertThat(s3.openUploads(BUCKET, "")).isEmpty();
        assertThat(stagedFiles()).isEmpty();

        jdbc.update("DELETE FROM app.orders WHERE id > 1000");
        toIceberg("full", "reads");
        assertThat(OrdersTable.inIceberg(ours("reads.app_orders"))).hasSize(1000).isEqualTo(OrdersTable.live(jdbc, "true"));
    }

    /** The export's backend while its COPY runs and the table's data file is staged. */
    private int awaitCopyWithAFileStaged() throws IOException {
        for (int i = 0; i < 6_000; i++) {
            if (!stagedFiles().isEmpty()) {
                List<Integer> copying = jdbc.queryForList("SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                        + "AND query LIKE 'COPY%' AND datname = current_database() AND pid <> pg_backend_pid()",
                        Integer.class);
                assertThat(copying).as("the export still reading when its file was staged").hasSize(1);
                return copying.get(0);
            }
            sleep(5);
        }
        throw new AssertionError("no file staged while the export read");
    }
}
