package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
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
        ServiceProcess[] instances = ServiceProcess.startTogether(env("instance-a"), env("instance-b"));
        try (ServiceProcess a = instances[0];
             ServiceProcess b = instances[1]) {
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

    /**
     * Heartbeats go on while a stopping instance drains its exports: with a grace far longer than
     * EXPORT_STALE_AFTER, the second instance never takes the draining export for dead.
     */
    @Test
    void sigtermDrainKeepsHeartbeatingSoAnotherInstanceNeverRunsTheJobAgain() throws Exception {
        Map<String, String> draining = env("draining");
        draining.put("EXPORT_SHUTDOWN_GRACE", "90s");
        try (UsersTableLock locker = UsersTableLock.acquire();
             ServiceProcess a = ServiceProcess.start(draining)) {
            String job = a.api().post("/exports/full", "drained").field("jobId");
            TestDatabase.awaitStatus(job, "running");
            try (ServiceProcess b = ServiceProcess.start(env("standby"))) {
                a.sendTerminate();
                // Three times EXPORT_STALE_AFTER: a reaper would have queued the job again long before this.
                IntegrationTest.sleep(12_000);
                assertThat(a.isAlive()).as("still draining").isTrue();
                assertThat(attempts(job)).isEqualTo(1);
                locker.release();

                assertThat(a.awaitExit(Duration.ofSeconds(90))).as(a.log()).isIn(0, 143);
                assertThat(TestDatabase.awaitJob(job)).isEqualTo("completed");
                assertThat(attempts(job)).as("the job ran once").isEqualTo(1);
                assertThat(instanceOf(job)).isEqualTo("draining");
                assertThat(b.log()).doesNotContain(job);
            }
        }
    }

    /**
     * A runner frozen between publishing its file and committing, for longer than EXPORT_STALE_AFTER, while the
     * other instance takes the job over: when it wakes, its failed commit must not remove the file of the attempt
     * that took over, whose commit then moves the watermark.
     */
    @Test
    void aRunnerHeldBetweenPublishAndCommitNeverRemovesTheFileOfTheAttemptThatTookOver() throws Exception {
        try (Connection watermarkLock = TestDatabase.connect()) {
            watermarkLock.setAutoCommit(false);
            // Readers pass; every commit (it writes the watermark) waits here, after its file is published.
            execute(watermarkLock, "LOCK TABLE watermarks IN EXCLUSIVE MODE");
            try (ServiceProcess a = ServiceProcess.start(env("held"))) {
                Api.Response started = a.api().post("/exports/full", "held");
                String job = started.field("jobId");
                String filename = started.field("outputFilename");
                int heldCommit = awaitCommitWaitingForWatermarks();
                assertThat(output.resolve(filename)).as("published before committing").exists();

                a.suspend();
                execute(watermarkLock, "SELECT pg_terminate_backend(" + heldCommit + ")");
                try (ServiceProcess b = ServiceProcess.start(env("takeover"))) {
                    awaitAttempt(job, 2);
                    awaitCommitWaitingForWatermarks();
                    assertThat(output.resolve(filename)).as("the takeover's file, published").exists();

                    a.resume();
                    awaitCleanupOf(a, job);
                    watermarkLock.rollback();

                    assertThat(TestDatabase.awaitJob(job)).isEqualTo("completed");
                    assertThat(instanceOf(job)).isEqualTo("takeover");
                    assertThat(attempts(job)).isEqualTo(2);
                    a.awaitLog("\"event\":\"export_failed\",\"jobId\":\"" + job + "\"");
                    assertThat(output.resolve(filename)).as("the takeover's file survives").exists();
                    try (Stream<String> lines = Files.lines(output.resolve(filename))) {
                        assertThat(lines.count()).isEqualTo(USERS + 1);
                    }
                    assertThat(jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = 'held'",
                            Integer.class)).isEqualTo(1);
                    try (Stream<Path> files = Files.list(output)) {
                        assertThat(files.map(p -> p.getFileName().toString()))
                                .containsExactlyInAnyOrder(filename, started.field("manifestFilename"));
                    }
                }
            }
        }
    }

    /** The backend of a commit blocked on the watermarks lock. */
    private static int awaitCommitWaitingForWatermarks() {
        return awaitBackend("wait_event_type = 'Lock' AND query ILIKE '%watermarks%'", "a commit waiting");
    }

    /**
     * Until the woken runner has dealt with its failed commit: it logged the failure, or it waits on the job's
     * row, which the takeover's open commit holds (a clean-up that asks the row who owns the job).
     */
    private static void awaitCleanupOf(ServiceProcess runner, String job) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (runner.log().contains("\"event\":\"export_failed\",\"jobId\":\"" + job + "\"")
                    || backend("wait_event_type = 'Lock' AND query ILIKE '%export_jobs%FOR UPDATE%'").isPresent()) {
                return;
            }
            IntegrationTest.sleep(20);
        }
        throw new AssertionError("the woken runner never got to its clean-up; log:\n" + runner.log());
    }

    private static int awaitBackend(String condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<Integer> pid = backend(condition);
            if (pid.isPresent()) {
                return pid.get();
            }
            IntegrationTest.sleep(20);
        }
        throw new AssertionError("no backend: " + what);
    }

    private static Optional<Integer> backend(String condition) {
        return jdbc.queryForList("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
                + condition, Integer.class).stream().findFirst();
    }

    private static void awaitAttempt(String jobId, int attempt) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && attempts(jobId) < attempt) {
            IntegrationTest.sleep(20);
        }
        assertThat(attempts(jobId)).isEqualTo(attempt);
    }

    private static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static int attempts(String jobId) {
        return jdbc.queryForObject("SELECT attempts FROM export_jobs WHERE id = ?", Integer.class,
                UUID.fromString(jobId));
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
