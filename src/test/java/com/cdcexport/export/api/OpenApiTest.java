package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.RawHttp;

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

    /** A client's Host or X-Forwarded-Host must not end up in what the service tells other clients. */
    @Test
    void theRequestsHostIsNotReflectedIntoTheDocumentOrSwaggersRedirect() {
        Map<String, String> forged = Map.of("Host", "evil.example", "X-Forwarded-Host", "evil2.example",
                "X-Forwarded-Proto", "https", "X-Forwarded-Prefix", "/evil3");
        for (String path : List.of("/v3/api-docs", "/v3/api-docs/swagger-config")) {
            RawHttp.Response response = RawHttp.send(port, "GET", path, forged);
            assertThat(response.status()).as(path).isEqualTo(200);
            assertThat(response.body()).as(path).doesNotContain("evil");
        }
        JsonNode servers = RawHttp.send(port, "GET", "/v3/api-docs", forged).json().get("servers");
        assertThat(servers).hasSize(1);
        assertThat(servers.get(0).get("url").asString()).isEqualTo("/");
    }

    @Test
    void swaggerUiIsServed() {
        assertThat(api.get("/swagger-ui/index.html", null).status()).isEqualTo(200);
    }
}
