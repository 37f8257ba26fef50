package com.cdcexport.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.TestPropertySource;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/** A client guessing keys: throttled per address before any lookup, and one audit line per interval. */
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = {
        "cdc.auth.mode=api-key",
        "cdc.auth.admin-token=" + AuthTest.ADMIN_TOKEN,
        "cdc.auth.failures-per-minute=5",
        "cdc.auth.failure-log-interval=2s"})
class AuthThrottleTest extends IntegrationTest {

    private static final String WRONG = "cdc_not-a-key-of-anyone-at-all-0123456789";

    @Test
    void badKeysFromOneAddressGet429BeforeAnyLookupAndOneAuditLineWithACount(CapturedOutput output) {
        String validKey = api.send("POST", "/consumers", bearer(AuthTest.ADMIN_TOKEN),
                "{\"consumerId\":\"guessed\"}").field("apiKey");
        int mark = output.getOut().length();
        for (int i = 0; i < 5; i++) {
            // A forged X-Forwarded-For changes nothing: without FORWARD_HEADERS_STRATEGY no proxy is trusted.
            Api.Response refused = api.send("GET", "/exports/jobs",
                    Map.of("Authorization", "Bearer " + WRONG, "X-Forwarded-For", "203.0.113." + i), null);
            assertThat(refused.status()).as("bad key %d", i + 1).isEqualTo(401);
        }

        Api.Response throttled = jobs(WRONG);
        Api.Response validButThrottled = jobs(validKey);

        for (Api.Response response : List.of(throttled, validButThrottled)) {
            assertThat(response.status()).as(response.body()).isEqualTo(429);
            assertThat(response.header("Content-Type")).startsWith("application/problem+json");
            assertThat(Long.parseLong(response.header("Retry-After"))).isBetween(1L, 60L);
        }
        assertThat(api.get("/health", null).status()).as("open endpoints stay open").isEqualTo(200);

        JsonNode summary = awaitSummary(output, mark);
        assertThat(summary.get("level").asString()).isEqualTo("WARN");
        assertThat(summary.get("repeated").asLong()).isEqualTo(6);
        assertThat(summary.get("reasons").toString()).contains("unknown_key", "throttled");
        assertThat(authFailedLines(output, mark)).as("one line, then the summary").hasSize(2);
    }

    private Api.Response jobs(String key) {
        return api.send("GET", "/exports/jobs", bearer(key), null);
    }

    private static JsonNode awaitSummary(CapturedOutput output, int mark) {
        for (int i = 0; i < 100; i++) {
            for (JsonNode line : authFailedLines(output, mark)) {
                if (line.has("repeated")) {
                    return line;
                }
            }
            sleep(100);
        }
        throw new AssertionError("no auth_failed summary within 10 s:\n" + output.getOut().substring(mark));
    }

    private static List<JsonNode> authFailedLines(CapturedOutput output, int mark) {
        JsonMapper json = JsonMapper.builder().build();
        return output.getOut().substring(mark).lines()
                .filter(l -> l.startsWith("{") && l.contains("\"event\":\"auth_failed\""))
                .map(json::readTree)
                .toList();
    }

    private static Map<String, String> bearer(String key) {
        return Map.of("Authorization", "Bearer " + key);
    }
}
