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

    private static JsonNode event(CapturedOutput output, String event, String jobId) {
        JsonMapper json = JsonMapper.builder().build();
        List<JsonNode> matches = output.getOut().lines()
                .filter(l -> l.startsWith("{") && l.contains(jobId))
                .map(json::readTree)
                .filter(n -> n.has("event") && n.get("event").asString().equals(event))
                .toList();
        assertThat(matches).as("%s for job %s", event, jobId).hasSize(1);
        return matches.get(0);
    }
}
