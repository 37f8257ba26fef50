package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LargeTableProcessTest;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/** The packaged service killed, cancelled and failed in the middle of a parallel export, for real. */
class ParallelExportIT extends LargeTableProcessTest {

    private static final String COPYING = "SELECT %s FROM pg_stat_activity WHERE datname = current_database() "
            + "AND state = 'active' AND query LIKE 'COPY (SELECT%%'";

    @TempDir
    Path chunks;

    private Map<String, String> environment() {
        return Map.of("EXPORT_OUTPUT_DIR", output.toString(), "EXPORT_CHUNK_DIR", chunks.toString(),
                "EXPORT_PARALLELISM", "3", "EXPORT_READERS", "3", "INSTANCE_ID", "parallel-test");
    }

    @Test
    void killedMidParallelExportLeavesNoFileNorChunksAndTheJobRunsAgainToTheSameFile() throws IOException {
        String consumer = "killed-" + UUID.randomUUID().toString().substring(0, 8);
        String jobId;
        String filename;
        try (ServiceProcess service = ServiceProcess.start(environment())) {
            Api.Response started = service.api().post("/exports/full", consumer);
            jobId = started.field("jobId");
            filename = started.field("outputFilename");
            awaitCopies(2);

            service.kill();
        }

        assertThat(output.resolve(filename)).doesNotExist();
        assertThat(TestDatabase.jobStatus(jobId)).isEqualTo("running");
        assertThat(watermarks(consumer)).isZero();

        try (ServiceProcess restarted = ServiceProcess.start(environment())) {
            assertThat(TestDatabase.awaitJob(jobId)).isEqualTo("completed");
            assertThat(jdbc.queryForObject("SELECT attempts FROM export_jobs WHERE id = ?", Integer.class,
                    UUID.fromString(jobId))).isEqualTo(2);
            assertThat(idsInOrder(output.resolve(filename))).isEqualTo(USERS);
            assertThat(files(output)).containsExactlyInAnyOrder(filename,
                    filename.replace(".csv", ".manifest.json"));
            assertThat(files(chunks)).as("the killed attempt's chunks are removed at start-up").isEmpty();
            assertThat(watermarks(consumer)).isEqualTo(1);
        }
    }

    @Test
    void cancelMidParallelExportStopsEveryWorkersCopyAndLeavesNothing() throws IOException {
        String consumer = "cancelled-" + UUID.randomUUID().toString().substring(0, 8);
        try (ServiceProcess service = ServiceProcess.start(environment())) {
            Api.Response started = service.api().post("/exports/full", consumer);
            awaitCopies(2);

            Api.Response cancel = service.api().send("DELETE", "/exports/jobs/" + started.field("jobId"), consumer);
            assertThat(cancel.status()).as(cancel.body()).isEqualTo(200);

            assertThat(TestDatabase.awaitJob(started.field("jobId"))).isEqualTo("cancelled");
            assertEveryReaderStoppedAndNothingIsLeft(consumer);
        }
    }

    @Test
    void aWorkerKilledMidExportFailsTheWholeExportAndTheNextOneCompletes() throws IOException {
        String consumer = "failed-" + UUID.randomUUID().toString().substring(0, 8);
        try (ServiceProcess service = ServiceProcess.start(environment())) {
            Api.Response started = service.api().post("/exports/full", consumer);
            awaitCopies(2);
            // The coordinator's transaction is the export's oldest; a worker's started after it.
            jdbc.queryForList(String.format(Locale.ROOT, COPYING, "pg_terminate_backend(pid)")
                    + " AND xact_start > (" + String.format(Locale.ROOT, COPYING, "min(xact_start)") + ")");

            assertThat(TestDatabase.awaitJob(started.field("jobId"))).isEqualTo("failed");
            assertEveryReaderStoppedAndNothingIsLeft(consumer);

            Api.Response again = service.api().post("/exports/full", consumer);
            assertThat(TestDatabase.awaitJob(again.field("jobId"))).isEqualTo("completed");
            assertThat(idsInOrder(output.resolve(again.field("outputFilename")))).isEqualTo(USERS);
        }
    }

    private void assertEveryReaderStoppedAndNothingIsLeft(String consumer) throws IOException {
        awaitCopies(0);
        // The job row says cancelled as soon as the API has marked it; the runner removes its files as it unwinds.
        awaitNoFiles(output);
        assertThat(files(output)).as("no file, no part file").isEmpty();
        assertThat(files(chunks)).as("no chunk file").isEmpty();
        assertThat(watermarks(consumer)).isZero();
    }

    /** Waits until exactly {@code count} COPY statements run (at least {@code count} when it is not 0). */
    private static void awaitCopies(int count) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            long running = jdbc.queryForObject(String.format(Locale.ROOT, COPYING, "count(*)"), Long.class);
            if (count == 0 ? running == 0 : running >= count) {
                return;
            }
            IntegrationTest.sleep(1);
        }
        throw new AssertionError("never " + count + " COPY statements at once");
    }

    /** The file's data lines, checked to be in strictly increasing id order (the header first). */
    private static long idsInOrder(Path file) throws IOException {
        try (BufferedReader reader = Files.newBufferedReader(file)) {
            assertThat(reader.readLine()).startsWith("id,");
            long lines = 0;
            long previous = Long.MIN_VALUE;
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                long id = Long.parseLong(line.substring(0, line.indexOf(',')));
                assertThat(id).isGreaterThan(previous);
                previous = id;
                lines++;
            }
            return lines;
        }
    }

    private static int watermarks(String consumer) {
        return jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = ?", Integer.class, consumer);
    }

    private static void awaitNoFiles(Path directory) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!files(directory).isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static List<String> files(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }
}
