package com.cdcexport.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

class HealthEndpointTest extends IntegrationTest {

    @Test
    void healthAnswersOkWithCurrentUtcTimestamp() {
        Api.Response response = api.get("/health", null);

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("Content-Type")).startsWith("application/json");
        assertThat(response.field("status")).isEqualTo("ok");
        String timestamp = response.field("timestamp");
        assertThat(timestamp).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}\\+00:00");
        assertThat(Duration.between(OffsetDateTime.parse(timestamp), OffsetDateTime.now(ZoneOffset.UTC)).abs())
                .isLessThan(Duration.ofMinutes(1));
    }
}
