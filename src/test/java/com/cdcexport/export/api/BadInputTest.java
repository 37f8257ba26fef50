package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

class BadInputTest extends IntegrationTest {

    @ParameterizedTest
    @ValueSource(strings = {"/exports/full", "/exports/incremental", "/exports/delta"})
    void missingConsumerHeaderIs400(String path) throws Exception {
        assertProblem(api.post(path, null), 400, "X-Consumer-ID header is required");
        assertThat(outputFiles()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "../../etc/passwd", "a/b", "a b", "ünïcode", "semi;colon", "..\\win"})
    void invalidConsumerIdIs400AndWritesNothing(String consumer) throws Exception {
        assertProblem(api.post("/exports/full", consumer), 400, "X-Consumer-ID");
        assertThat(outputFiles()).isEmpty();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs", Long.class)).isZero();
    }

    @Test
    void consumerIdLongerThan128Is400() {
        assertProblem(api.post("/exports/full", "x".repeat(129)), 400, "1 to 128");
        assertThat(api.post("/exports/full", "x".repeat(128)).status()).isEqualTo(202);
    }

    /** No URL can name them (/consumers/.. is normalized away), so their keys could never be rotated or revoked. */
    @ParameterizedTest
    @ValueSource(strings = {".", "..", "..."})
    void consumerIdsMadeOnlyOfDotsAre400(String consumer) throws Exception {
        assertProblem(api.post("/exports/full", consumer), 400, "not only dots");
        assertProblem(api.get("/exports/watermark", consumer), 400, "not only dots");
        assertThat(outputFiles()).isEmpty();
        assertThat(api.post("/exports/full", consumer + "a").status()).as("dots beside other characters").isEqualTo(202);
    }

    @Test
    void watermarkWithInvalidConsumerIs400() {
        assertProblem(api.get("/exports/watermark", "bad id"), 400, "X-Consumer-ID");
        assertProblem(api.get("/exports/watermark", null), 400, "X-Consumer-ID");
    }

    @Test
    void unknownExportTypeIs404() {
        assertProblem(api.post("/exports/snapshot", "c1"), 404, "Unknown export type");
    }

    @Test
    void wrongMethodIs405() {
        Api.Response response = api.get("/exports/full", "c1");
        assertProblem(response, 405, null);
        assertThat(response.header("Allow")).isEqualTo("POST");
        assertProblem(api.post("/exports/watermark", "c1"), 405, null);
        assertProblem(api.send("DELETE", "/exports/delta", "c1"), 405, null);
    }

    @Test
    void missingWatermarkIs404WithSeedDetail() {
        Api.Response response = api.get("/exports/watermark", "never-exported");
        assertProblem(response, 404, null);
        assertThat(response.field("detail")).isEqualTo("No watermark for this consumer");
    }

    @Test
    void secondExportForBusyConsumerIs409NamingTheActiveJob() throws Exception {
        insertUsers(10);
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            Api.Response first = startExport("full", "busy");

            Api.Response second = api.post("/exports/delta", "busy");
            assertProblem(second, 409, first.field("jobId"));
            assertThat(second.field("activeJobId")).isEqualTo(first.field("jobId"));
            assertThat(api.post("/exports/full", "someone-else").status()).isEqualTo(202);
            locker.release();
            assertThat(awaitJob(first.field("jobId"))).isEqualTo("completed");
        }
        assertThat(api.post("/exports/delta", "busy").status()).isEqualTo(202);
    }

    @Test
    void simultaneousRequestsForOneConsumerStartExactlyOneExport() throws Exception {
        insertUsers(1_000);
        int requests = 8;
        var pool = Executors.newFixedThreadPool(requests);
        try {
            var start = new CountDownLatch(1);
            List<Future<Api.Response>> responses = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                String type = i % 2 == 0 ? "delta" : "incremental";
                responses.add(pool.submit(() -> {
                    start.await();
                    return api.post("/exports/" + type, "racer");
                }));
            }
            start.countDown();
            List<Integer> statuses = new ArrayList<>();
            for (var response : responses) {
                statuses.add(response.get().status());
            }
            // A fast export may finish before a late request arrives, which then starts the next one: never two
            // at once, so every accepted export ran alone and the 409s name a job that was active.
            assertThat(statuses).containsOnly(202, 409).contains(202);
        } finally {
            pool.shutdown();
        }
        awaitNoActive();
        List<Map<String, Object>> jobs = jdbc.queryForList(
                "SELECT started_at, finished_at FROM export_jobs WHERE consumer_id = 'racer' ORDER BY started_at");
        for (int i = 1; i < jobs.size(); i++) {
            assertThat((Timestamp) jobs.get(i).get("started_at"))
                    .isAfterOrEqualTo((Timestamp) jobs.get(i - 1).get("finished_at"));
        }
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs WHERE consumer_id = 'racer' "
                + "AND status <> 'completed'", Long.class)).isZero();
    }

    private void awaitNoActive() {
        for (int i = 0; i < 3_000 && jdbc.queryForObject(
                "SELECT count(*) FROM export_jobs WHERE status IN ('queued', 'running')", Long.class) > 0; i++) {
            sleep(10);
        }
    }

    static void assertProblem(Api.Response response, int status, String detailContains) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.json().get("status").asInt()).isEqualTo(status);
        assertThat(response.field("detail")).isNotBlank();
        if (detailContains != null) {
            assertThat(response.field("detail")).contains(detailContains);
        }
    }
}
