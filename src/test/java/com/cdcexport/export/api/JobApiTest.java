package com.cdcexport.export.api;

import static com.cdcexport.export.api.BadInputTest.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

/** Following an export from the 202 to its file with curl alone. */
class JobApiTest extends IntegrationTest {

    @Test
    void completedJobReportsItsWholeLifecycle() {
        insertUsers(250);
        Api.Response started = startExport("full", "warehouse");
        String jobId = started.field("jobId");
        awaitJob(jobId);

        Api.Response job = api.get("/exports/jobs/" + jobId, null);

        assertThat(job.status()).isEqualTo(200);
        JsonNode body = job.json();
        assertThat(body.get("jobId").asString()).isEqualTo(jobId);
        assertThat(body.get("consumerId").asString()).isEqualTo("warehouse");
        assertThat(body.get("exportType").asString()).isEqualTo("full");
        assertThat(body.get("status").asString()).isEqualTo("completed");
        assertThat(body.get("rowsExported").asLong()).isEqualTo(250);
        assertThat(body.get("totalRows").asLong()).isEqualTo(250);
        assertThat(body.get("progressPercent").asDouble()).isEqualTo(100.0);
        assertThat(body.get("outputFilename").asString()).isEqualTo(started.field("outputFilename"));
        assertThat(body.get("createdAt").asString()).endsWith("+00:00");
        assertThat(body.get("startedAt").asString()).isGreaterThanOrEqualTo(body.get("createdAt").asString());
        assertThat(body.get("finishedAt").asString()).isGreaterThanOrEqualTo(body.get("startedAt").asString());
        assertThat(body.get("durationSeconds").asDouble()).isPositive();
        assertThat(body.get("attempts").asInt()).isEqualTo(1);
        assertThat(body.get("error").isNull()).isTrue();
    }

    @Test
    void runningJobShowsNoFileYetAndItsDownloadIsAConflict() throws Exception {
        insertUsers(10);
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            String jobId = startExport("delta", "warehouse").field("jobId");
            awaitStatus(jobId, "running");

            Api.Response job = api.get("/exports/jobs/" + jobId, null);
            assertThat(job.field("status")).isEqualTo("running");
            assertThat(job.json().get("finishedAt").isNull()).isTrue();
            assertThat(job.json().get("rowsExported").asLong()).isZero();
            assertProblem(api.get("/exports/jobs/" + jobId + "/file", null), 409, "running");
            locker.release();
            assertThat(awaitJob(jobId)).isEqualTo("completed");
        }
    }

    /**
     * A request with {@code wait} answers when the job ends, not after the wait: held while the export is blocked,
     * answered within moments of the commit once it is released; a request whose wait runs out gets the running
     * job; a job already ended is answered at once.
     */
    @Test
    void aRequestThatWaitsIsAnsweredWhenTheJobEnds() throws Exception {
        insertUsers(10);
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            String jobId = startExport("delta", "warehouse").field("jobId");
            awaitStatus(jobId, "running");

            long start = System.nanoTime();
            Api.Response stillRunning = api.get("/exports/jobs/" + jobId + "?wait=1", null);
            assertThat(stillRunning.field("status")).isEqualTo("running");
            assertThat(millisSince(start)).as("the wait ran out").isBetween(900L, 5_000L);

            java.util.concurrent.CompletableFuture<Api.Response> waiting = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> api.get("/exports/jobs/" + jobId + "?wait=60", null));
            sleep(500);
            assertThat(waiting).as("held while the export cannot finish").isNotDone();
            locker.release();
            Api.Response ended = waiting.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(ended.status()).isEqualTo(200);
            assertThat(ended.field("status")).isEqualTo("completed");
            assertThat(ended.json().get("finishedAt").isNull()).isFalse();

            start = System.nanoTime();
            assertThat(api.get("/exports/jobs/" + jobId + "?wait=60", null).field("status")).isEqualTo("completed");
            assertThat(millisSince(start)).as("an ended job is answered at once").isLessThan(2_000L);
        }
    }

    @Test
    void aWaitOutsideItsRangeIs400() {
        insertUsers(1);
        String jobId = startExport("full", "warehouse").field("jobId");
        assertProblem(api.get("/exports/jobs/" + jobId + "?wait=61", null), 400, "wait");
        assertProblem(api.get("/exports/jobs/" + jobId + "?wait=-1", null), 400, "wait");
        assertProblem(api.get("/exports/jobs/" + jobId + "?wait=soon", null), 400, "wait");
        awaitJob(jobId);
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    @Test
    void downloadStreamsExactlyTheFileOnDisk() throws Exception {
        insertUser("Smith, \"Jo\"", "jo@example.com");
        insertUsers(100);
        Api.Response started = startExport("delta", "downloader");
        awaitJob(started.field("jobId"));

        Api.Response file = api.get("/exports/jobs/" + started.field("jobId") + "/file", null);

        assertThat(file.status()).isEqualTo(200);
        assertThat(file.header("Content-Type")).isEqualTo("text/csv;charset=UTF-8");
        assertThat(file.header("Content-Disposition"))
                .isEqualTo("attachment; filename=\"" + started.field("outputFilename") + "\"");
        assertThat(file.body()).isEqualTo(Files.readString(OUTPUT_DIR.resolve(started.field("outputFilename"))));
    }

    @Test
    void unsatisfiableRangeIs416WithoutTheFile() throws Exception {
        insertUsers(100);
        Api.Response started = startExport("full", "ranger");
        awaitJob(started.field("jobId"));
        String path = "/exports/jobs/" + started.field("jobId") + "/file";
        long size = Files.size(OUTPUT_DIR.resolve(started.field("outputFilename")));

        Api.Response beyond = api.send("GET", path, Map.of("Range", "bytes=" + (size + 10) + "-"), null);

        assertThat(beyond.status()).isEqualTo(416);
        assertThat(beyond.header("Content-Range")).isEqualTo("bytes */" + size);
        assertThat(beyond.body()).isEmpty();
        Api.Response head = api.send("GET", path, Map.of("Range", "bytes=0-9"), null);
        assertThat(head.status()).as("a satisfiable range still works").isEqualTo(206);
        assertThat(head.body()).hasSize(10);
    }

    /** RFC 9110 (14.2): a server ignores a Range in a unit it does not support, and sends the whole file. */
    @Test
    void aRangeInAnUnknownUnitIsIgnored() throws Exception {
        insertUsers(100);
        Api.Response started = startExport("full", "ranger");
        awaitJob(started.field("jobId"));
        String path = "/exports/jobs/" + started.field("jobId") + "/file";
        String stored = Files.readString(OUTPUT_DIR.resolve(started.field("outputFilename")));

        for (String unit : List.of("items=0-5", "lines=1-2", "none")) {
            Api.Response whole = api.send("GET", path, Map.of("Range", unit), null);

            assertThat(whole.status()).as(unit).isEqualTo(200);
            assertThat(whole.body()).as(unit).isEqualTo(stored);
            assertThat(whole.header("Content-Length")).as(unit).isEqualTo(String.valueOf(stored.length()));
            assertThat(whole.header("Content-Range")).as(unit).isNull();
            assertThat(whole.header("Accept-Ranges")).as(unit).isEqualTo("bytes");
        }
        Api.Response bytes = api.send("GET", path, Map.of("Range", "bytes=0-5"), null);
        assertThat(bytes.status()).isEqualTo(206);
        assertThat(bytes.body()).isEqualTo(stored.substring(0, 6));
    }

    @Test
    void downloadOfARemovedFileIsGone() throws Exception {
        Api.Response started = startExport("full", "c");
        awaitJob(started.field("jobId"));
        Files.delete(OUTPUT_DIR.resolve(started.field("outputFilename")));

        assertProblem(api.get("/exports/jobs/" + started.field("jobId") + "/file", null), 410, "removed");
    }

    @Test
    void unknownOrMalformedJobIdsAreClientErrors() {
        String unknown = "/exports/jobs/00000000-0000-0000-0000-000000000000";
        assertProblem(api.get(unknown, null), 404, "No export job");
        assertProblem(api.get(unknown + "/file", null), 404, "No export job");
        assertProblem(api.send("DELETE", unknown, null), 404, "No export job");
        assertProblem(api.get("/exports/jobs/not-a-uuid", null), 400, null);
        assertProblem(api.post("/exports/jobs", "c1"), 405, null);
    }

    @Test
    void listIsNewestFirstAndPagesWithACursor() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String jobId = startExport(i % 2 == 0 ? "full" : "delta", "pager-" + (i % 2)).field("jobId");
            awaitJob(jobId);
            ids.add(0, jobId);
        }

        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            Api.Response page = api.get("/exports/jobs?limit=2" + (cursor == null ? "" : "&cursor=" + cursor), null);
            assertThat(page.status()).as(page.body()).isEqualTo(200);
            page.json().get("jobs").forEach(j -> seen.add(j.get("jobId").asString()));
            cursor = page.field("nextCursor");
            pages++;
        } while (cursor != null);

        assertThat(seen).isEqualTo(ids);
        assertThat(pages).isEqualTo(3);
        JsonNode deltas = api.get("/exports/jobs?consumerId=pager-1&status=completed", null).json().get("jobs");
        assertThat(deltas).hasSize(2).allMatch(j -> j.get("exportType").asString().equals("delta"));
        assertThat(api.get("/exports/jobs?status=failed", null).json().get("jobs")).isEmpty();
    }

    @Test
    void badListParametersAre400() {
        assertProblem(api.get("/exports/jobs?limit=0", null), 400, "limit");
        assertProblem(api.get("/exports/jobs?limit=101", null), 400, "limit");
        assertProblem(api.get("/exports/jobs?status=done", null), 400, "status");
        assertProblem(api.get("/exports/jobs?cursor=garbage!", null), 400, "cursor");
        assertProblem(api.get("/exports/jobs?consumerId=a/b", null), 400, "X-Consumer-ID");
    }

    /** A cursor is the client's to send back: a forged one must not reach the database as a time it rejects. */
    @Test
    void forgedCursorsOutsideTheTimestampRangeAre400() {
        for (String micros : List.of("-300000000000000000", "300000000000000000", "9223372036854775807",
                "-9223372036854775808")) {
            String raw = micros + ":" + UUID.randomUUID();
            String cursor = Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
            assertProblem(api.get("/exports/jobs?cursor=" + cursor, null), 400, "cursor");
        }
    }

    @Test
    void cancellingARunningJobMovesNothingAndLeavesNoFile() throws Exception {
        insertUsers(10);
        export("full", "warehouse");
        String watermark = lastExportedAt("warehouse");
        List<String> files = outputFiles();
        jdbc.update("UPDATE users SET name = 'changed'");
        String jobId;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            jobId = startExport("incremental", "warehouse").field("jobId");
            awaitStatus(jobId, "running");

            Api.Response cancelled = api.send("DELETE", "/exports/jobs/" + jobId, null);

            assertThat(cancelled.status()).as(cancelled.body()).isEqualTo(200);
            assertThat(cancelled.field("status")).isEqualTo("cancelled");
            locker.release();
        }
        assertThat(awaitJob(jobId)).isEqualTo("cancelled");
        sleep(500);
        assertThat(jobRow(jobId).get("status")).isEqualTo("cancelled");
        assertThat(lastExportedAt("warehouse")).isEqualTo(watermark);
        assertThat(outputFiles()).isEqualTo(files);
        assertProblem(api.send("DELETE", "/exports/jobs/" + jobId, null), 409, "already finished");
        // Nothing was lost by cancelling: the next export has every change.
        assertThat(export("incremental", "warehouse")).hasSize(11);
    }

    @Test
    void cancellingAQueuedJobMeansItNeverRuns() throws Exception {
        insertUsers(10);
        String queued;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            // Two workers: occupy both, so the third job waits in the queue.
            String a = startExport("full", "a").field("jobId");
            String b = startExport("full", "b").field("jobId");
            awaitStatus(a, "running");
            awaitStatus(b, "running");
            queued = startExport("full", "c").field("jobId");
            assertThat(api.get("/exports/jobs/" + queued, null).field("status")).isEqualTo("queued");

            assertThat(api.send("DELETE", "/exports/jobs/" + queued, null).field("status")).isEqualTo("cancelled");
            locker.release();
            awaitJob(a);
            awaitJob(b);
        }
        assertThat(jobRow(queued)).containsEntry("status", "cancelled").containsEntry("attempts", 0);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = 'c'", Long.class)).isZero();
    }

    @Test
    void prometheusShowsExportsRowsDurationsQueueAndPendingChanges() {
        insertUsers(42);
        export("full", "metered");

        String metrics = awaitMetric("cdc_changes_pending{consumer=\"metered\",table=\"public.users\"}");

        assertThat(metrics).containsPattern("cdc_exports_total\\{outcome=\"completed\",type=\"full\"} [1-9]")
                .containsPattern("cdc_export_rows_total\\{type=\"full\"} [1-9]")
                .contains("cdc_export_duration_seconds_bucket{outcome=\"completed\",type=\"full\"")
                .contains("cdc_jobs{status=\"queued\"}")
                .contains("cdc_jobs{status=\"running\"}")
                .containsPattern("cdc_export_readers_limit [1-9]")
                .contains("cdc_export_readers_busy ")
                // Spring Security's per-filter observations are off: they cost a quarter of a request's CPU
                .doesNotContain("spring_security_");
    }

    private String awaitMetric(String name) {
        for (int i = 0; i < 200; i++) {
            Api.Response response = api.get("/actuator/prometheus", null);
            assertThat(response.status()).isEqualTo(200);
            if (response.body().contains(name)) {
                return response.body();
            }
            sleep(100);
        }
        throw new AssertionError(name + " never appeared");
    }

}
