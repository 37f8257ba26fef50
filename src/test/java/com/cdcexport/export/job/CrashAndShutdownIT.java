package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LargeTableProcessTest;
import com.cdcexport.support.UsersTableLock;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/** The packaged service, killed and stopped for real in the middle of a large export. */
class CrashAndShutdownIT extends LargeTableProcessTest {

    @Test
    void killedMidExportLeavesNoCsvAndIsRunAgainAfterRestart() throws IOException {
        Map<String, String> env = Map.of("EXPORT_OUTPUT_DIR", output.toString(), "INSTANCE_ID", "crash-test");
        String consumer = "killed-" + UUID.randomUUID().toString().substring(0, 8);
        String jobId;
        String filename;
        String manifest;
        try (ServiceProcess service = ServiceProcess.start(env)) {
            Api.Response started = service.api().post("/exports/full", consumer);
            jobId = started.field("jobId");
            filename = started.field("outputFilename");
            manifest = started.field("manifestFilename");
            awaitPartialFile(output.resolve(filename + ".1.part"));

            service.kill();
        }

        assertThat(output.resolve(filename)).as("no complete-looking file").doesNotExist();
        assertThat(output.resolve(manifest)).as("no manifest").doesNotExist();
        assertThat(TestDatabase.jobStatus(jobId)).isEqualTo("running");
        assertThat(watermarks(consumer)).isZero();

        try (ServiceProcess restarted = ServiceProcess.start(env)) {
            // The restarted instance knows the job was its own, queues it again, and runs it to the end.
            assertThat(TestDatabase.awaitJob(jobId)).isEqualTo("completed");
            assertThat(jdbc.queryForObject("SELECT attempts FROM export_jobs WHERE id = ?", Integer.class,
                    UUID.fromString(jobId))).isEqualTo(2);
            try (Stream<String> lines = Files.lines(output.resolve(filename))) {
                assertThat(lines.count()).isEqualTo(USERS + 1);
            }
            assertThat(files()).as("no temporary file of the first attempt is left")
                    .containsExactlyInAnyOrder(filename, manifest);
            assertThat(watermarks(consumer)).isEqualTo(1);

            Api.Response again = restarted.api().post("/exports/delta", consumer);
            assertThat(again.status()).isEqualTo(202);
            assertThat(TestDatabase.awaitJob(again.field("jobId"))).isEqualTo("completed");
        }
    }

    @Test
    void sigtermLetsRunningExportFinishBeforeExit() throws IOException {
        Map<String, String> env = Map.of("EXPORT_OUTPUT_DIR", output.toString(), "EXPORT_SHUTDOWN_GRACE", "60s");
        String consumer = "stopped-" + UUID.randomUUID().toString().substring(0, 8);
        Api.Response started;
        try (ServiceProcess service = ServiceProcess.start(env)) {
            started = service.api().post("/exports/full", consumer);
            awaitPartialFile(output.resolve(started.field("outputFilename") + ".1.part"));

            int exitCode = service.terminate(Duration.ofSeconds(90));
            assertThat(exitCode).as(service.log()).isIn(0, 143);
        }

        assertThat(TestDatabase.jobStatus(started.field("jobId"))).isEqualTo("completed");
        try (Stream<String> lines = Files.lines(output.resolve(started.field("outputFilename")))) {
            assertThat(lines.count()).isEqualTo(USERS + 1);
        }
        assertThat(watermarks(consumer)).isEqualTo(1);
        assertThat(files()).containsExactlyInAnyOrder(started.field("outputFilename"),
                started.field("manifestFilename"));
    }

    @Test
    void twoInstancesOnOneDatabaseNeverRunOneConsumersExportsAtOnce() throws Exception {
        Map<String, String> env = Map.of("EXPORT_OUTPUT_DIR", output.toString());
        String consumer = "shared-" + UUID.randomUUID().toString().substring(0, 8);
        ServiceProcess[] instances = ServiceProcess.startTogether(env, env);
        try (ServiceProcess first = instances[0];
             ServiceProcess second = instances[1];
             // Keeps the first instance's export running while the second instance is asked for the same consumer.
             UsersTableLock locker = UsersTableLock.acquire()) {
            Api.Response running = first.api().post("/exports/full", consumer);
            assertThat(running.status()).isEqualTo(202);

            Api.Response refused = second.api().post("/exports/delta", consumer);
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(refused.field("activeJobId")).isEqualTo(running.field("jobId"));
            Api.Response other = second.api().post("/exports/full", consumer + "-other");
            assertThat(other.status()).isEqualTo(202);

            locker.release();
            assertThat(TestDatabase.awaitJob(running.field("jobId"))).isEqualTo("completed");
            Api.Response next = second.api().post("/exports/delta", consumer);
            assertThat(next.status()).isEqualTo(202);
            assertThat(TestDatabase.awaitJob(next.field("jobId"))).isEqualTo("completed");
            // Left queued or running, the queue would hand it to the next test's instance (jobs outlive instances).
            assertThat(TestDatabase.awaitJob(other.field("jobId"))).isEqualTo("completed");
        }
    }

    /** Waits until the export has written a good part of its file, so the process dies mid-stream. */
    private static void awaitPartialFile(Path part) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(part) && Files.size(part) > 4 << 20) {
                return;
            }
            IntegrationTest.sleep(2);
        }
        throw new AssertionError("export never got going: " + part);
    }

    private static int watermarks(String consumer) {
        return jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = ?", Integer.class, consumer);
    }

    private java.util.List<String> files() throws IOException {
        try (Stream<Path> files = Files.list(output)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }
}
