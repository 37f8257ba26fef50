package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

@TestPropertySource(properties = {"cdc.jobs.retention=1h", "cdc.schedules=scheduled=delta@0 0 0 1 1 *"})
class SchedulesAndRetentionTest extends IntegrationTest {

    @Autowired
    ExportSchedules schedules;

    @Autowired
    JobRetention retention;

    @Test
    void schedulesParseFromTheEnvironmentVariableFormat() {
        List<ExportSchedules.Schedule> parsed =
                ExportSchedules.parse("warehouse=delta@0 */5 * * * *; search = incremental @ 0 0 2 * * MON-FRI;");

        assertThat(parsed).hasSize(2);
        assertThat(parsed.get(0).consumer().value()).isEqualTo("warehouse");
        assertThat(parsed.get(0).type()).isEqualTo(ExportType.DELTA);
        assertThat(parsed.get(1).type()).isEqualTo(ExportType.INCREMENTAL);
        assertThat(ExportSchedules.parse("")).isEmpty();
    }

    @Test
    void badScheduleNamesTheVariable() {
        for (String bad : List.of("warehouse@0 * * * * *", "warehouse=weekly@0 * * * * *", "bad id=delta@0 * * * * *",
                "warehouse=delta@every minute")) {
            assertThatThrownBy(() -> ExportSchedules.parse(bad)).isInstanceOf(InvalidSettingException.class)
                    .hasMessageContaining("EXPORT_SCHEDULES");
        }
    }

    @Test
    void aScheduleFiringGoesThroughTheJobPathAndSkipsABusyConsumer() {
        insertUsers(5);
        ExportSchedules.Schedule schedule = ExportSchedules.parse("scheduled=delta@0 0 0 1 1 *").get(0);

        schedules.fire(schedule);
        String jobId = jdbc.queryForObject("SELECT id::text FROM export_jobs WHERE consumer_id = 'scheduled'",
                String.class);
        assertThat(awaitJob(jobId)).isEqualTo("completed");
        assertThat(column(readCsv((String) jobRow(jobId).get("output_filename")), "operation")).hasSize(5);

        try (UsersTableLock locker = UsersTableLock.acquire()) {
            Api.Response running = startExport("full", "scheduled");
            schedules.fire(schedule);
            assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs WHERE consumer_id = 'scheduled'",
                    Long.class)).as("the busy consumer's scheduled export was skipped").isEqualTo(2);
            locker.release();
            awaitJob(running.field("jobId"));
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void retentionRemovesOldFinishedJobsAndTheirFilesOnly() throws Exception {
        String old = startExport("full", "old").field("jobId");
        awaitJob(old);
        String newest = startExport("full", "old").field("jobId");
        String recent = startExport("full", "recent").field("jobId");
        awaitJob(newest);
        awaitJob(recent);
        String oldFile = (String) jobRow(old).get("output_filename");
        jdbc.update("UPDATE export_jobs SET finished_at = now() - interval '2 hours' WHERE id IN (?, ?)",
                UUID.fromString(old), UUID.fromString(newest));

        retention.applyRetention();

        assertThat(jdbc.queryForList("SELECT id::text FROM export_jobs", String.class))
                .containsExactlyInAnyOrder(newest, recent);
        assertThat(Files.exists(OUTPUT_DIR.resolve(oldFile))).isFalse();
        assertThat(outputFiles()).as("the old job's manifest went with its file").containsExactlyInAnyOrder(
                (String) jobRow(recent).get("output_filename"), (String) jobRow(recent).get("manifest_filename"),
                (String) jobRow(newest).get("output_filename"), (String) jobRow(newest).get("manifest_filename"));
        assertThat(lastExportedAt("old")).as("watermarks do not depend on job history").isNotNull();
    }

    /**
     * However old, the newest completed export of each consumer and table stays: the watermark points to it. An
     * export of two tables stays while it is the newest of either; failed and cancelled jobs have no such claim.
     */
    @Test
    void retentionKeepsTheExportEachWatermarkPointsTo() throws Exception {
        List<String> bothFiles = runExport("full", "keeper", null, "users", "app.orders").json().get("files")
                .valueStream().map(f -> f.get("filename").asString()).toList();
        String usersOnly = runExport("incremental", "keeper", null, "users").field("jobId");
        String ordersAgain = runExport("delta", "keeper", null, "app.orders").field("jobId");
        String cancelled;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            cancelled = startExport("full", "keeper").field("jobId");
            api.send("DELETE", "/exports/jobs/" + cancelled, "keeper");
            locker.release();
            assertThat(awaitJob(cancelled)).isEqualTo("cancelled");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        jdbc.update("UPDATE export_jobs SET finished_at = finished_at - interval '30 days'");

        retention.applyRetention();

        assertThat(jdbc.queryForList("SELECT id::text FROM export_jobs", String.class))
                .as("users' newest is the incremental, app.orders' the delta: the first full is no one's")
                .containsExactlyInAnyOrder(usersOnly, ordersAgain);
        assertThat(outputFiles()).as("two files and two manifests").hasSize(4)
                .contains((String) jobRow(usersOnly).get("output_filename"),
                        (String) jobRow(ordersAgain).get("output_filename"))
                .doesNotContainAnyElementsOf(bothFiles);
    }
}
