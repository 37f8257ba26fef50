package com.cdcexport.export.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.Api;
import com.cdcexport.support.RestCatalogServer;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/**
 * The packaged service with ICEBERG_CATALOG=rest against a real REST catalog over HTTP ({@link RestCatalogServer}):
 * killed (SIGKILL) between the catalog's commit and the commit of its job and watermark, the one failure the two
 * systems leave (docs/capture.md, "With a REST catalog"). The job's second attempt, run by the same instance started
 * again, reads its window from the unmoved watermark and applies it over the table the first attempt left: the
 * table ends equal to the live table, nothing applied twice or skipped. And a catalog that cannot be reached stops
 * start-up with one line naming ICEBERG_REST_URI.
 */
class IcebergRestCrashIT {

    private static final JdbcTemplate jdbc = TestDatabase.jdbc();

    @TempDir
    Path output;

    private Map<String, String> environment(RestCatalogServer catalog, String instance) {
        return new HashMap<>(Map.of("EXPORT_OUTPUT_DIR", output.resolve("out").toString(), "INSTANCE_ID", instance,
                "EXPORT_TABLES", TestDatabase.EXPORT_TABLES, "EXPORT_HEARTBEAT_INTERVAL", "1s",
                "EXPORT_STALE_AFTER", "3s", "ICEBERG_CATALOG", "rest", "ICEBERG_REST_URI", catalog.uri()));
    }

    private static String export(ServiceProcess service, String type) {
        Api.Response started = service.api().post("/exports/" + type + "?format=iceberg&table=app.orders", "lake");
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        return started.field("jobId");
    }

    private static Map<Long, String> live() {
        Map<Long, String> rows = new TreeMap<>();
        jdbc.query("SELECT id, status, total FROM app.orders", rs -> {
            rows.put(rs.getLong(1), rs.getString(2) + "|" + rs.getBigDecimal(3));
        });
        return rows;
    }

    private static Map<Long, String> inIceberg(Table table) throws IOException {
        Map<Long, String> rows = new TreeMap<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).select("id", "status", "total")
                .build()) {
            for (Record r : records) {
                assertThat(rows.put((Long) r.getField("id"), r.getField("status") + "|" + r.getField("total")))
                        .as("key %s once", r.getField("id")).isNull();
            }
        }
        return rows;
    }

    private static String watermark() {
        return jdbc.queryForObject("SELECT snapshot::text FROM watermarks WHERE consumer_id = 'lake' AND "
                + "table_name = 'app.orders'", String.class);
    }

    @Test
    void killedBetweenTheCatalogCommitAndTheWatermarkTheNextAttemptAppliesTheWindowFromTheWatermarkOnce()
            throws IOException {
        jdbc.execute(TestDatabase.RESET_SQL);
        jdbc.update("INSERT INTO app.orders (id, customer, total, status, placed_at) SELECT g, 'Customer ' || g, "
                + "g * 1.25, 'new', timestamptz '2026-01-01 00:00:00+00' FROM generate_series(1, 500) g");
        try (RestCatalogServer catalog = RestCatalogServer.start(output.resolve("rest-warehouse"))) {
            try (ServiceProcess service = ServiceProcess.start(environment(catalog, "rest-1"))) {
                assertThat(TestDatabase.awaitJob(export(service, "full"))).as(service.log()).isEqualTo("completed");
            }
            String watermark = watermark();
            Table table = catalog.catalog().loadTable(TableIdentifier.parse("lake.app_orders"));
            long full = table.currentSnapshot().snapshotId();

            jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id <= 10");
            jdbc.update("DELETE FROM app.orders WHERE id BETWEEN 11 AND 15");
            Map<String, String> paused = environment(catalog, "rest-2");
            paused.put(StepPause.VARIABLE, StepPause.Step.TABLES_COMMITTED.name().toLowerCase(Locale.ROOT));
            String jobId;
            try (ServiceProcess service = ServiceProcess.start(paused)) {
                jobId = export(service, "delta");
                service.awaitLog("Paused after step tables_committed of job " + jobId);
                service.kill();
            }
            table.refresh();
            Snapshot first = table.currentSnapshot();
            assertThat(first.summary()).as("the catalog has the window").containsEntry("cdc.job-id", jobId)
                    .containsEntry("cdc.attempt", "1").containsEntry("cdc.previous-snapshot", watermark);
            assertThat(first.parentId()).isEqualTo(full);
            assertThat(watermark()).as("the watermark does not").isEqualTo(watermark);
            assertThat(TestDatabase.jobStatus(jobId)).isEqualTo("running");
            assertThat(inIceberg(table)).as("the first attempt's files are the table's").isEqualTo(live());

            jdbc.update("UPDATE app.orders SET total = 0 WHERE id IN (1, 100)");
            // The same instance again: it queues its own job again at start-up; the second attempt runs it.
            try (ServiceProcess service = ServiceProcess.start(environment(catalog, "rest-2"))) {
                assertThat(TestDatabase.awaitJob(jobId)).as(service.log()).isEqualTo("completed");
            }
            assertThat(jdbc.queryForObject("SELECT attempts FROM export_jobs WHERE id = ?", Integer.class,
                    UUID.fromString(jobId))).isEqualTo(2);
            table.refresh();
            Snapshot second = table.currentSnapshot();
            assertThat(second.parentId()).isEqualTo(first.snapshotId());
            assertThat(second.summary()).as("the window from the unmoved watermark, over the first attempt's")
                    .containsEntry("cdc.job-id", jobId).containsEntry("cdc.attempt", "2")
                    .containsEntry("cdc.previous-snapshot", watermark).containsEntry("cdc.snapshot", watermark())
                    .containsEntry("added-records", "11");
            assertThat(inIceberg(table)).as("nothing applied twice, nothing skipped").isEqualTo(live());
        }
    }

    @Test
    void aRestCatalogThatCannotBeReachedStopsStartUpWithOneLine() {
        String nowhere = "http://127.0.0.1:" + ServiceProcess.freePort();
        String output = ServiceProcess.startExpectingExit(Map.of("EXPORT_OUTPUT_DIR", this.output.toString(),
                "ICEBERG_CATALOG", "rest", "ICEBERG_REST_URI", nowhere, "ICEBERG_REST_TOKEN", "tok-5d1e2f"));
        assertThat(output).contains("ICEBERG_REST_URI=" + nowhere + ": the Iceberg REST catalog cannot be reached")
                .doesNotContain("tok-5d1e2f");
        assertThat(output.lines().filter(line -> line.contains("ICEBERG_REST_URI"))).hasSize(1);
    }
}
