package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

/**
 * One consumer cannot pile up copies of personal data: it may start EXPORTS_PER_HOUR exports an hour, EXPORT_BURST
 * at once, and old export files go after EXPORT_RETENTION unless a watermark points to them. Both by default.
 */
// One token back every 10 minutes: no test here runs long enough, on however loaded a machine, to see one refilled.
@TestPropertySource(properties = {"cdc.jobs.exports-per-hour=6", "cdc.jobs.export-burst=3"})
class ExportRateLimitTest extends IntegrationTest {

    @Autowired
    CdcProperties properties;

    @Autowired
    JobRetention retention;

    @Test
    void aConsumerBeyondItsBurstGets429WithRetryAfterAndNoJob() {
        insertUsers(5);
        for (int i = 0; i < 3; i++) {
            assertThat(awaitJob(startExport("full", "hoarder").field("jobId"))).isEqualTo("completed");
        }

        Api.Response refused = api.post("/exports/full", "hoarder");

        assertThat(refused.status()).as(refused.body()).isEqualTo(429);
        assertThat(refused.header("Content-Type")).startsWith("application/problem+json");
        assertThat(refused.field("detail")).contains("6 exports an hour, 3 at once");
        assertThat(Long.parseLong(refused.header("Retry-After"))).isBetween(1L, 600L);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs WHERE consumer_id = 'hoarder'", Long.class))
                .isEqualTo(3);
        assertThat(api.post("/exports/delta", "hoarder").status()).as("every type counts").isEqualTo(429);
        assertThat(awaitJob(startExport("full", "someone-else").field("jobId"))).as("the limit is per consumer")
                .isEqualTo("completed");
    }

    @Test
    void requestsThatAreNotAcceptedDoNotCount() throws SQLException {
        String first;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            first = startExport("full", "patient").field("jobId");
            for (int i = 0; i < 5; i++) {
                assertThat(api.post("/exports/full", "patient").status()).as("busy").isEqualTo(409);
            }
            locker.release();
        }
        awaitJob(first);

        assertThat(awaitJob(startExport("incremental", "patient").field("jobId"))).isEqualTo("completed");
        assertThat(awaitJob(startExport("delta", "patient").field("jobId"))).isEqualTo("completed");
        assertThat(api.post("/exports/full", "patient").status()).isEqualTo(429);
    }

    @Test
    void theDefaultsLimitExportsAndKeepFilesForAWeek() {
        CdcProperties.Jobs defaults = new org.springframework.boot.context.properties.bind.Binder()
                .bindOrCreate("cdc.jobs", CdcProperties.Jobs.class);

        assertThat(defaults.exportsPerHour()).isEqualTo(60);
        assertThat(defaults.exportBurst()).isEqualTo(10);
        assertThat(defaults.effectiveRetention()).contains(Duration.ofDays(7));
    }

    @Test
    void retentionByDefaultRemovesAWeekOldExportThatNoWatermarkPointsTo() {
        String older = startExport("full", "weekly").field("jobId");
        awaitJob(older);
        String newer = startExport("full", "weekly").field("jobId");
        awaitJob(newer);
        jdbc.update("UPDATE export_jobs SET finished_at = now() - interval '8 days' WHERE id = ?", UUID.fromString(older));

        retention.applyRetention();

        assertThat(properties.jobs().effectiveRetention()).as("application.yml's default")
                .contains(Duration.ofDays(7));
        assertThat(jdbc.queryForList("SELECT id::text FROM export_jobs", String.class)).containsExactly(newer);
    }
}
