package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;


import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

@TestPropertySource(properties = {"cdc.jobs.workers=1", "cdc.jobs.queue-capacity=1"})
class QueueFullTest extends IntegrationTest {

    @Test
    void fullQueueIs429WithRetryAfterAndRecordsNothing() throws Exception {
        insertUsers(10);
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            Api.Response running = startExport("full", "a");
            awaitStatus(running.field("jobId"), "running");
            Api.Response queued = startExport("full", "b");

            Api.Response refused = api.post("/exports/full", "c");

            BadInputTest.assertProblem(refused, 429, "retry");
            assertThat(refused.header("Retry-After")).isEqualTo("5");
            assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs WHERE consumer_id = 'c'", Long.class))
                    .isZero();
            locker.release();
            assertThat(awaitJob(running.field("jobId"))).isEqualTo("completed");
            assertThat(awaitJob(queued.field("jobId"))).isEqualTo("completed");
        }
        assertThat(api.post("/exports/full", "c").status()).isEqualTo(202);
    }

}
