package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

/** A failed export moves nothing and leaves no file; the service keeps working. */
@ExtendWith(OutputCaptureExtension.class)
class FailedExportTest extends IntegrationTest {

    @Test
    void droppedDatabaseConnectionFailsTheJobAndChangesNothing(CapturedOutput output) throws Exception {
        insertUsers(100);
        export("full", "warehouse");
        Map<String, Object> before = watermarkRow("warehouse");
        List<String> filesBefore = outputFiles();
        jdbc.update("UPDATE users SET name = 'changed' WHERE id <= 10");

        Api.Response started;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            started = startExport("incremental", "warehouse");
            int exportBackend = awaitBackendWaitingOnLock();
            try (Statement statement = locker.connection().createStatement()) {
                statement.execute("SELECT pg_terminate_backend(" + exportBackend + ")");
            }
            locker.release();
        }

        assertThat(awaitJob(started.field("jobId"))).isEqualTo("failed");
        assertThat(jobRow(started.field("jobId")).get("error")).asString().isNotBlank();
        assertThat(watermarkRow("warehouse")).isEqualTo(before);
        assertThat(outputFiles()).isEqualTo(filesBefore);
        assertThat(output.getOut()).contains("\"event\":\"export_failed\"")
                .contains("\"jobId\":\"" + started.field("jobId") + "\"");

        // The pool replaces the dead connection: the very next export works and carries the changes.
        assertThat(export("incremental", "warehouse")).hasSize(11);
    }

    @Test
    void watermarkMovedByAnotherPartyFailsTheCommitAndDiscardsTheFile() throws Exception {
        insertUsers(10);
        export("full", "warehouse");
        List<String> filesBefore = outputFiles();

        Api.Response started;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            started = startExport("delta", "warehouse");
            awaitBackendWaitingOnLock();
            // Someone else (a second service on a misconfigured database, an operator) moves the watermark.
            jdbc.update("UPDATE watermarks SET snapshot = pg_current_snapshot() WHERE consumer_id = 'warehouse'");
            locker.release();
        }
        Map<String, Object> moved = watermarkRow("warehouse");

        assertThat(awaitJob(started.field("jobId"))).isEqualTo("failed");
        assertThat(jobRow(started.field("jobId")).get("error")).asString().contains("watermark");
        assertThat(watermarkRow("warehouse")).isEqualTo(moved);
        // the manifest was published before the commit failed: it went with the file
        assertThat(outputFiles()).isEqualTo(filesBefore).doesNotContain(started.field("manifestFilename"));
    }

    @Test
    void exportsWorkAgainAfterEveryDatabaseConnectionWasDropped() throws Exception {
        insertUsers(50);
        export("full", "warehouse");
        jdbc.update("UPDATE users SET name = 'after restart' WHERE id <= 5");

        // What the service sees of a database restart: every pooled connection dies at once.
        try (Connection admin = openConnection(); Statement statement = admin.createStatement()) {
            statement.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    + "WHERE datname = current_database() AND pid <> pg_backend_pid()");
        }

        assertThat(api.get("/health", null).status()).isEqualTo(200);
        // A request may still meet a dead pooled connection: that is a 503 to retry, never a 500.
        Api.Response response = api.post("/exports/incremental", "warehouse");
        for (int attempt = 0; response.status() == 503 && attempt < 10; attempt++) {
            assertThat(response.header("Retry-After")).isEqualTo("5");
            response = api.post("/exports/incremental", "warehouse");
        }
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        assertThat(awaitJob(response.field("jobId"))).isEqualTo("completed");
        assertThat(column(readCsv(response.field("outputFilename")), "name"))
                .containsOnly("after restart").hasSize(5);
    }

    private Map<String, Object> watermarkRow(String consumer) {
        return jdbc.queryForMap("SELECT consumer_id, last_exported_at, updated_at, snapshot::text AS snapshot "
                + "FROM watermarks WHERE consumer_id = ?", consumer);
    }

    /** The export's backend, once it blocks on the users table lock. */
    private int awaitBackendWaitingOnLock() {
        for (int i = 0; i < 1_000; i++) {
            List<Integer> pids = jdbc.queryForList("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    + "AND datname = current_database() AND pid <> pg_backend_pid()", Integer.class);
            if (!pids.isEmpty()) {
                return pids.get(0);
            }
            sleep(10);
        }
        throw new AssertionError("the export never blocked on the lock");
    }
}
