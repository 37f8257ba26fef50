package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleResponse;
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
        assertThat(paths.has("/exports/jobs/{jobId}/manifest")).isTrue();
        assertThat(paths.has("/consumers/{consumerId}/format")).isTrue();
    }

    @Test
    void theDocumentListsTheFormatsAndTheirContentTypes() {
        JsonNode docs = api.get("/v3/api-docs", null).json();
        JsonNode format = null;
        for (JsonNode parameter : docs.at("/paths/~1exports~1{type}/post/parameters")) {
            if (parameter.get("name").asString().equals("format")) {
                format = parameter;
            }
        }
        assertThat(format).as("the format parameter").isNotNull();
        assertThat(format.at("/schema/enum").toString())
                .isEqualTo("[\"csv\",\"csv.gz\",\"csv.zst\",\"jsonl\",\"jsonl.gz\",\"jsonl.zst\",\"parquet\","
                        + "\"iceberg\"]");
        assertThat(docs.at("/paths/~1exports~1jobs~1{jobId}~1file/get/responses/200/content").has(
                "application/vnd.apache.parquet")).isTrue();
        assertThat(docs.at("/components/schemas/JobView/properties/manifestFilename/nullable").asBoolean()).isTrue();
    }

    /** What a generated client needs to know, and what a validating proxy flagged. */
    @Test
    void theDocumentStatesAllowedValuesNullsAndEveryStatusTheServiceSends() {
        JsonNode docs = api.get("/v3/api-docs", null).json();
        JsonNode start = docs.at("/paths/~1exports~1{type}/post");
        assertThat(start.get("parameters").findValue("enum").toString())
                .isEqualTo("[\"full\",\"incremental\",\"delta\"]");
        JsonNode schemas = docs.at("/components/schemas");
        assertThat(schemas.at("/KeyView/properties/expiresAt/nullable").asBoolean()).isTrue();
        assertThat(schemas.at("/KeyView/properties/revokedAt/nullable").asBoolean()).isTrue();
        assertThat(schemas.at("/JobView/properties/finishedAt/nullable").asBoolean()).isTrue();
        assertThat(schemas.at("/JobPage/properties/nextCursor/nullable").asBoolean()).isTrue();
        assertThat(schemas.at("/ProblemDetail/properties/instance").has("format"))
                .as("instance is a relative reference, not a URI").isFalse();
        docs.get("paths").properties().forEach(path -> path.getValue().properties().forEach(operation -> {
            JsonNode responses = operation.getValue().get("responses");
            String name = operation.getKey() + " " + path.getKey();
            if (path.getKey().startsWith("/exports") || path.getKey().startsWith("/consumers")) {
                for (String status : List.of("400", "401", "403", "429", "503")) {
                    assertThat(responses.has(status)).as("%s lists %s", name, status).isTrue();
                    assertThat(responses.get(status).at("/content").has("application/problem+json")).as(name).isTrue();
                }
            }
            assertThat(responses.properties().stream().map(Map.Entry::getKey).filter(s -> s.startsWith("2")))
                    .as("%s lists its success", name).isNotEmpty();
        }));
        assertThat(start.get("responses").has("200")).as("an export start is a 202, never a 200").isFalse();
        assertThat(docs.get("paths").has("/error")).isFalse();
    }

    /** The shared check every integration test's answers pass (support/ApiContract) does look at bodies. */
    @Test
    void theContractCheckRejectsAnAnswerTheDocumentDoesNotPromise() {
        OpenApiInteractionValidator validator = OpenApiInteractionValidator
                .createForInlineApiSpecification(api.get("/v3/api-docs", null).body()).build();
        SimpleResponse wrongType = SimpleResponse.Builder.status(200).withContentType("application/json")
                .withBody("{\"consumerId\":\"a\",\"createdAt\":\"x\",\"keys\":[{\"keyId\":\"k\",\"origin\":\"api\","
                        + "\"createdAt\":\"x\",\"expiresAt\":42,\"revokedAt\":null,\"active\":true}]}").build();
        SimpleResponse nulls = SimpleResponse.Builder.status(200).withContentType("application/json")
                .withBody("{\"consumerId\":\"a\",\"createdAt\":\"x\",\"keys\":[{\"keyId\":\"k\",\"origin\":\"api\","
                        + "\"createdAt\":\"x\",\"expiresAt\":null,\"revokedAt\":null,\"active\":true}]}").build();
        SimpleResponse undocumented = SimpleResponse.Builder.status(418).build();

        assertThat(validator.validateResponse("/consumers/a", Request.Method.GET, wrongType).hasErrors()).isTrue();
        assertThat(validator.validateResponse("/consumers/a", Request.Method.GET, nulls).hasErrors()).isFalse();
        assertThat(validator.validateResponse("/consumers/a", Request.Method.GET, undocumented).hasErrors()).isTrue();
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
