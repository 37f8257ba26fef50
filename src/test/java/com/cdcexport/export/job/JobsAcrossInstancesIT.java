package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LargeTableProcessTest;
import com.cdcexport.support.UsersTableLock;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/** Jobs live in the database, not in an instance: they survive restarts and move to instances that are alive. */
class JobsAcrossInstancesIT extends LargeTableProcessTest {

    private Map<String, String> env(String instanceId) {
        Map<String, String> env = new HashMap<>(Map.of("EXPORT_OUTPUT_DIR", output.toString(), "EXPORT_WORKERS", "1",
                "EXPORT_HEARTBEAT_INTERVAL", "1s", "EXPORT_STALE_AFTER", "4s"));
        env.put("INSTANCE_ID", instanceId);
        return env;
    }

    @Test
    void jobQueuedBeforeARestartRunsAfterIt() throws Exception {
        String running;
        String queued;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            try (ServiceProcess service = ServiceProcess.start(env("restarting"))) {
                running = service.api().post("/exports/full", "first").field("jobId");
                TestDatabase.awaitStatus(running, "running");
                queued = service.api().post("/exports/delta", "second").field("jobId");
                assertThat(TestDatabase.jobStatus(queued)).isEqualTo("queued");
                service.kill();
            }
            locker.release();
        }

        try (ServiceProcess restarted = ServiceProcess.start(env("restarting"))) {
            assertThat(TestDatabase.awaitJob(running)).isEqualTo("completed");
            assertThat(TestDatabase.awaitJob(queued)).isEqualTo("completed");
            assertThat(restarted.api().get("/exports/jobs/" + running, null).json().get("attempts").asInt())
                    .isEqualTo(2);
            assertThat(restarted.api().get("/exports/jobs/" + queued, null).json().get("attempts").asInt())
                    .isEqualTo(1);
        }
    }

    @Test
    void twoInstancesShareTheQueueAndTakeOverTheJobOfAKilledOne() throws Exception {
        try (ServiceProcess a = ServiceProcess.start(env("instance-a"));
             ServiceProcess b = ServiceProcess.start(env("instance-b"))) {
            String first;
            String second;
            try (UsersTableLock locker = UsersTableLock.acquire()) {
                // Both requests go to A, which has one worker: B must claim the other job from the shared queue.
                first = a.api().post("/exports/full", "one").field("jobId");
                second = a.api().post("/exports/full", "two").field("jobId");
                TestDatabase.awaitStatus(first, "running");
                TestDatabase.awaitStatus(second, "running");
                locker.release();
            }
            assertThat(instanceOf(first)).isNotEqualTo(instanceOf(second));
            String onA = instanceOf(first).equals("instance-a") ? first : second;

            // Progress is live while the export runs, on the instance running it and, via heartbeats, elsewhere.
            awaitProgress(a.api(), onA);
            a.kill();

            // B notices A's silence, queues A's job again and runs it itself.
            assertThat(TestDatabase.awaitJob(onA)).isEqualTo("completed");
            assertThat(instanceOf(onA)).isEqualTo("instance-b");
            JsonNode job = b.api().get("/exports/jobs/" + onA, null).json();
            assertThat(job.get("attempts").asInt()).isEqualTo(2);
            assertThat(job.get("rowsExported").asLong()).isEqualTo(USERS);
            assertThat(job.get("totalRows").asLong()).isEqualTo(USERS);
            assertThat(TestDatabase.awaitJob(first.equals(onA) ? second : first)).isEqualTo("completed");
            try (Stream<String> lines = Files.lines(output.resolve(job.get("outputFilename").asString()))) {
                assertThat(lines.count()).isEqualTo(USERS + 1);
            }
        }
    }

    private static void awaitProgress(Api api, String jobId) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode job = api.get("/exports/jobs/" + jobId, null).json();
            long rows = job.get("rowsExported").asLong();
            if (rows > 0 && rows < USERS) {
                // A full export's total is the planner's estimate while it runs, exact once it completes.
                assertThat(job.get("totalRows").asLong()).isCloseTo(USERS, withinPercentage(5));
                assertThat(job.get("progressPercent").asDouble()).isBetween(0.0, 100.0);
                return;
            }
            assertThat(job.get("status").asString()).isEqualTo("running");
            IntegrationTest.sleep(5);
        }
        throw new AssertionError("no progress seen for " + jobId);
    }

    private static String instanceOf(String jobId) {
        return jdbc.queryForObject("SELECT instance_id FROM export_jobs WHERE id = ?", String.class,
                UUID.fromString(jobId));
    }
}
