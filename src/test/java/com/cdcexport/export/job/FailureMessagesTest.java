package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.TestPropertySource;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;

/**
 * A failed job tells its consumer what kind of thing went wrong in a stable sentence, never PostgreSQL's own text
 * (which names internal aliases, columns and query positions); the admin and the log keep that text.
 */
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = "cdc.auth.admin-token=" + FailureMessagesTest.ADMIN_TOKEN)
class FailureMessagesTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "failure-messages-admin-token-3d8a1f6c9b2e7a4d0c5f";

    @Autowired
    ExportJobService service;

    private void rule(String json) {
        Api.Response response = api.send("PUT", "/consumers/analytics/tables/app.orders",
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN), json);
        assertThat(response.status()).as(response.body()).isEqualTo(200);
    }

    private String failedExport() {
        Api.Response accepted = api.post("/exports/full?table=app.orders", "analytics");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        assertThat(awaitJob(accepted.field("jobId"))).isEqualTo("failed");
        return accepted.field("jobId");
    }

    @Test
    void aFilterOnADroppedColumnFailsWithAStableMessageAndTheDetailForTheAdmin(CapturedOutput output) {
        jdbc.update("INSERT INTO app.orders (id, customer, total, status) VALUES (1, 'Ada', 1, 'paid')");
        rule("{\"filter\": [{\"column\": \"status\", \"op\": \"=\", \"value\": \"paid\"}]}");
        jdbc.execute("ALTER TABLE app.orders DROP COLUMN status");
        try {
            String jobId = failedExport();

            String error = api.get("/exports/jobs/" + jobId, "analytics").field("error");
            assertThat(error).as("what the consumer reads").contains("changed its shape", "app.orders")
                    .doesNotContain("ERROR", "Position", "does not exist", "status");
            assertThat(jdbc.queryForObject("SELECT error_detail FROM export_jobs WHERE id = ?::uuid", String.class,
                    jobId)).as("the admin's detail").contains("status", "does not exist");
            assertThat(service.errorDetail(java.util.UUID.fromString(jobId))).get().asString()
                    .contains("does not exist");
            JsonNode logged = failedEvent(output, jobId);
            assertThat(logged.get("error").asString()).isEqualTo(error);
            assertThat(logged.get("detail").asString()).contains("does not exist");
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    @Test
    void aRuleValueThatNoLongerFitsItsColumnsTypeIsTheSameStableMessage() {
        jdbc.update("INSERT INTO app.orders (id, customer, total, status) VALUES (1, 'Ada', 1, 'paid')");
        rule("{\"filter\": [{\"column\": \"customer\", \"op\": \"=\", \"value\": \"Ada\"}]}");
        jdbc.execute("ALTER TABLE app.orders ALTER COLUMN customer TYPE integer USING 0");
        try {
            String jobId = failedExport();

            String error = api.get("/exports/jobs/" + jobId, "analytics").field("error");
            assertThat(error).contains("changed its shape").doesNotContain("invalid input syntax", "Ada", "ERROR");
            assertThat(jdbc.queryForObject("SELECT error_detail FROM export_jobs WHERE id = ?::uuid", String.class,
                    jobId)).contains("invalid input syntax");
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    @Test
    void theServicesOwnMessagesReachTheConsumerAsTheyAre() {
        jdbc.execute("ALTER TABLE app.order_lines DROP CONSTRAINT order_lines_pkey");
        try {
            Api.Response accepted = api.post("/exports/full?table=app.order_lines", "warehouse");
            assertThat(awaitJob(accepted.field("jobId"))).isEqualTo("failed");

            assertThat(api.get("/exports/jobs/" + accepted.field("jobId"), "warehouse").field("error"))
                    .contains("app.order_lines has no primary key any more");
            assertThat(service.errorDetail(java.util.UUID.fromString(accepted.field("jobId")))).isEmpty();
        } finally {
            jdbc.execute("ALTER TABLE app.order_lines ADD PRIMARY KEY (order_id, line_no)");
        }
    }

    private static JsonNode failedEvent(CapturedOutput output, String jobId) {
        JsonMapper json = JsonMapper.builder().build();
        List<JsonNode> events = output.getOut().lines()
                .filter(l -> l.startsWith("{") && l.contains(jobId))
                .map(json::readTree)
                .filter(n -> n.has("event") && n.get("event").asString().equals("export_failed"))
                .toList();
        assertThat(events).hasSize(1);
        return events.get(0);
    }
}
