package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

@ExtendWith(OutputCaptureExtension.class)
class ExportLogEventsTest extends IntegrationTest {

    @Test
    void exportLogsStartedAndCompletedAsJsonLinesWithSeedFields(CapturedOutput output) {
        insertUsers(3);
        Api.Response response = startExport("delta", "logged");
        String jobId = response.field("jobId");
        awaitJob(jobId);

        JsonNode started = event(output, "export_started", jobId);
        assertThat(started.get("consumerId").asString()).isEqualTo("logged");
        assertThat(started.get("exportType").asString()).isEqualTo("delta");

        JsonNode completed = event(output, "export_completed", jobId);
        assertThat(completed.get("rowsExported").asLong()).isEqualTo(3);
        assertThat(completed.get("durationSeconds").asDouble()).isPositive().isLessThan(60);
    }

    @Test
    void aCancelIsAnInfoEventAndConflictsLogNothingAboveDebug(CapturedOutput output) throws Exception {
        insertUsers(3);
        String jobId;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            jobId = startExport("full", "canceller").field("jobId");
            awaitStatus(jobId, "running");
            int mark = output.getOut().length();
            assertThat(api.post("/exports/delta", "canceller").status()).isEqualTo(409);
            assertThat(warningsOrWorse(output.getOut().substring(mark))).isEmpty();
            assertThat(api.send("DELETE", "/exports/jobs/" + jobId, null).status()).isEqualTo(200);
            locker.release();
        }
        assertThat(awaitJob(jobId)).isEqualTo("cancelled");

        assertThat(event(output, "export_cancelled", jobId).get("level").asString()).isEqualTo("INFO");
        assertThat(events(output, "export_failed", jobId)).isEmpty();
        int mark = output.getOut().length();
        assertThat(api.send("DELETE", "/exports/jobs/" + jobId, null).status()).isEqualTo(409);
        assertThat(warningsOrWorse(output.getOut().substring(mark))).isEmpty();
    }

    private static List<String> warningsOrWorse(String log) {
        return log.lines().filter(l -> l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\"")).toList();
    }

    /** The one {@code event} of the job; its runner may log it a moment after the job's status changed. */
    private static JsonNode event(CapturedOutput output, String event, String jobId) {
        List<JsonNode> matches = events(output, event, jobId);
        for (int i = 0; i < 100 && matches.isEmpty(); i++) {
            sleep(50);
            matches = events(output, event, jobId);
        }
        assertThat(matches).as("%s for job %s", event, jobId).hasSize(1);
        return matches.get(0);
    }

    private static List<JsonNode> events(CapturedOutput output, String event, String jobId) {
        JsonMapper json = JsonMapper.builder().build();
        return output.getOut().lines()
                .filter(l -> l.startsWith("{") && l.contains(jobId))
                .map(json::readTree)
                .filter(n -> n.has("event") && n.get("event").asString().equals(event))
                .toList();
    }
}
