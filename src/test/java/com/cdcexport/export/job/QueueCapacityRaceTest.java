package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.Concurrently;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

@TestPropertySource(properties = {"cdc.jobs.workers=1", "cdc.jobs.queue-capacity=" + QueueCapacityRaceTest.CAPACITY})
class QueueCapacityRaceTest extends IntegrationTest {

    static final int CAPACITY = 20;

    @Test
    void concurrentRequestsNeverQueueMoreThanTheCapacity() throws Exception {
        insertUsers(10);
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            // Exports claimed by any instance block on the lock, so the queue only grows during the burst.
            List<Integer> statuses = Concurrently.run(60, n -> api.post("/exports/full", "burst-" + n).status());

            long accepted = statuses.stream().filter(s -> s == 202).count();
            assertThat(statuses).containsOnly(202, 429);
            Map<String, Object> counts = jdbc.queryForMap("SELECT count(*) FILTER (WHERE status = 'queued') AS queued, "
                    + "count(*) FILTER (WHERE status = 'running') AS claimed FROM export_jobs");
            long queued = (Long) counts.get("queued");
            long claimed = (Long) counts.get("claimed");
            assertThat(accepted).isEqualTo(queued + claimed);
            assertThat(queued).as("jobs queued at once").isLessThanOrEqualTo(CAPACITY);
            assertThat(accepted).as("accepted: the capacity, plus what was claimed meanwhile")
                    .isGreaterThanOrEqualTo(CAPACITY).isLessThanOrEqualTo(CAPACITY + claimed);
            locker.release();
        }
        for (String id : jdbc.queryForList("SELECT id::text FROM export_jobs", String.class)) {
            assertThat(awaitJob(id)).isEqualTo("completed");
        }
    }
}
