package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

class OpenApiTest extends IntegrationTest {

    @Test
    void apiDocumentDescribesEveryEndpointAndItsErrors() {
        Api.Response docs = api.get("/v3/api-docs", null);

        assertThat(docs.status()).isEqualTo(200);
        JsonNode paths = docs.json().get("paths");
        assertThat(paths.has("/exports/{type}")).isTrue();
        assertThat(paths.has("/exports/watermark")).isTrue();
        assertThat(paths.has("/exports/jobs")).isTrue();
        assertThat(paths.has("/exports/jobs/{jobId}")).isTrue();
        assertThat(paths.has("/exports/jobs/{jobId}/file")).isTrue();
        assertThat(paths.has("/health")).isTrue();
        JsonNode start = paths.get("/exports/{type}").get("post");
        assertThat(start.get("responses").has("202")).isTrue();
        assertThat(start.get("responses").get("409").get("content").has("application/problem+json")).isTrue();
        assertThat(start.get("parameters").toString()).contains("X-Consumer-ID");
    }

    @Test
    void swaggerUiIsServed() {
        assertThat(api.get("/swagger-ui/index.html", null).status()).isEqualTo(200);
    }
}
