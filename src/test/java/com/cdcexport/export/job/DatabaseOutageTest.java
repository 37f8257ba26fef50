package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;
import com.cdcexport.support.UsersTableLock;

/**
 * A database outage of about 1.5 s (every session of the service terminated, again and again, as during a
 * restart or failover) never leaves a job "running" with nothing running it: it ends, completed or visibly
 * failed, within seconds of the database coming back. EXPORT_STALE_AFTER is far longer than the test waits,
 * so the stale-job reaper is not what ends it.
 */
@TestPropertySource(properties = "cdc.jobs.stale-after=10m")
class DatabaseOutageTest extends IntegrationTest {

    private static final Duration OUTAGE = Duration.ofMillis(1_500);
    private static final Duration ENDS_WITHIN = Duration.ofSeconds(8);

    @Autowired
    private HikariDataSource pool;

    /**
     * The next test's set-up borrows from this pool: hand it no session the outage cut. Other test contexts'
     * pools check a session idle for over half a second before lending it, so a second's wait covers them.
     */
    @AfterEach
    void replaceCutSessions() {
        pool.getHikariPoolMXBean().softEvictConnections();
        sleep(1_000);
    }

    @Test
    void runningExportHitByAnOutageEndsSoonAfterTheDatabaseIsBack() throws Exception {
        insertUsers(100);
        String jobId;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            jobId = startExport("full", "outage").field("jobId");
            awaitStatus(jobId, "running");
            outage(Set.of(backendOf(locker.connection())));
            locker.release();
        }
        assertEndsSoon(jobId);
    }

    @Test
    void exportsStartedAroundAnOutageAllEnd() throws Exception {
        insertUsers(100);
        for (int run = 0; run < 8; run++) {
            String jobId = submit("around-" + run);
            // The claim and the runner's first statements follow the submit within milliseconds.
            sleep(run * 4L);
            outage(Set.of());
            assertEndsSoon(jobId);
        }
    }

    /** The pool may still hold sessions the previous outage cut: that is a 503 to retry. */
    private String submit(String consumer) {
        Api.Response response = api.post("/exports/full", consumer);
        for (int attempt = 0; response.status() == 503 && attempt < 50; attempt++) {
            sleep(100);
            response = api.post("/exports/full", consumer);
        }
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        return response.field("jobId");
    }

    private void assertEndsSoon(String jobId) {
        long deadline = System.nanoTime() + ENDS_WITHIN.toNanos();
        String status = TestDatabase.jobStatus(jobId);
        while ((status.equals("queued") || status.equals("running")) && System.nanoTime() < deadline) {
            sleep(50);
            status = TestDatabase.jobStatus(jobId);
        }
        assertThat(status).as("job %s %s after the outage", jobId, ENDS_WITHIN).isIn("completed", "failed");
    }

    /** Terminates every other client session of the database, every 20 ms, for {@link #OUTAGE}. */
    private static void outage(Set<Integer> spared) throws Exception {
        try (Connection admin = openConnection(); Statement statement = admin.createStatement()) {
            String others = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    + spared.stream().map(pid -> " AND pid <> " + pid).reduce("", String::concat);
            long end = System.nanoTime() + OUTAGE.toNanos();
            while (System.nanoTime() < end) {
                statement.execute(others);
                sleep(20);
            }
        }
    }

    private static int backendOf(Connection connection) throws Exception {
        try (Statement statement = connection.createStatement();
             var rs = statement.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
