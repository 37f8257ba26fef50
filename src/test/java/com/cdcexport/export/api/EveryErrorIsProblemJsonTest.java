package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.RawHttp;

/**
 * Errors raised before a request reaches a controller, by Spring Security's firewall or by Tomcat itself, are
 * problem+json like every other. Sent over a raw socket: HTTP clients would normalize these request targets.
 */
class EveryErrorIsProblemJsonTest extends IntegrationTest {

    @ParameterizedTest
    @ValueSource(strings = {"/exports//full", "/exports/full;x=1", "/exports/%2e%2e/full", "/exports/%2f/full",
            "/exports/full%00", "/exports/%252e%252e/full", "/exports/\\full", "/exports/%5cfull", "/ex ports"})
    void oddRequestTargetsAreProblemJson(String target) {
        RawHttp.Response response = RawHttp.send(port, "POST", target, Map.of("X-Consumer-ID", "c1"));

        assertProblemJson(response, target);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs", Long.class)).isZero();
    }

    @Test
    void oversizedHeadersAreProblemJson() {
        RawHttp.Response response = RawHttp.send(port, "GET", "/health", Map.of("X-Big", "x".repeat(20_000)));

        assertProblemJson(response, "20 kB header");
    }

    @Test
    void aMalformedRequestLineIsProblemJson() {
        RawHttp.Response response = RawHttp.send(port, "GET", "/health?a=<>{}", Map.of());

        assertProblemJson(response, "unencoded characters in the query");
    }

    private static void assertProblemJson(RawHttp.Response response, String what) {
        assertThat(response.status()).as("%s: %s", what, response.body()).isBetween(400, 499);
        assertThat(response.header("Content-Type")).as("%s: %s", what, response.body())
                .startsWith("application/problem+json");
        assertThat(response.json().get("status").asInt()).as(what).isEqualTo(response.status());
        assertThat(response.json().get("detail").asString()).as(what).isNotBlank();
    }
}
