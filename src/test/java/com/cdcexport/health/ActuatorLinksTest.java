package com.cdcexport.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.RawHttp;

/**
 * With PUBLIC_URL set, the links of /actuator start with it, whatever Host the request names (without it they are
 * relative: ConsoleSignInTest).
 */
@TestPropertySource(properties = {
        "cdc.auth.mode=api-key",
        "cdc.auth.admin-token=" + ActuatorLinksTest.ADMIN_TOKEN,
        "cdc.public-url=https://exports.example.com/"})
class ActuatorLinksTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "actuator-links-admin-token-5c4b3a29180f7e6d5c4b3a2918";

    @Test
    void actuatorLinksStartWithThePublicUrlWhateverTheHostHeaderSays() {
        RawHttp.Response links = RawHttp.send(port, "GET", "/actuator",
                Map.of("Host", "evil.example.com", "Authorization", "Bearer " + ADMIN_TOKEN));

        assertThat(links.status()).as(links.body()).isEqualTo(200);
        assertThat(links.body()).doesNotContain("evil.example.com");
        assertThat(links.json().at("/_links/self/href").asString()).isEqualTo("https://exports.example.com/actuator");
        assertThat(links.json().at("/_links/health/href").asString())
                .isEqualTo("https://exports.example.com/actuator/health");
    }
}
