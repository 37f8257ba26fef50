package com.cdcexport.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/** AUTH_MODE=api-key end to end: who may call what, keys' life cycle, audit, rate limit. */
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = {
        "cdc.auth.mode=api-key",
        "cdc.auth.admin-token=" + AuthTest.ADMIN_TOKEN,
        "cdc.auth.rate-limit-per-minute=" + AuthTest.RATE_LIMIT})
class AuthTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "test-admin-token-7f3c9a1e5b2d4c6a8e0f1a2b3c4d5e6f";
    /** New each run: contexts of other test classes on this database revoke the environment keys they do not list. */
    static final String ENVIRONMENT_KEY = "test-environment-key-" + UUID.randomUUID();
    static final int RATE_LIMIT = 40;
    private static final String NO_JOB = "/exports/jobs/00000000-0000-0000-0000-000000000000";

    /** Every endpoint that needs a key, with the method that reaches it. */
    private static final List<String[]> EXPORT_ENDPOINTS = List.of(
            new String[] {"POST", "/exports/full"}, new String[] {"POST", "/exports/incremental"},
            new String[] {"POST", "/exports/delta"}, new String[] {"GET", "/exports/watermark"},
            new String[] {"GET", "/exports/jobs"}, new String[] {"GET", NO_JOB},
            new String[] {"GET", NO_JOB + "/file"}, new String[] {"DELETE", NO_JOB});
    private static final List<String[]> ADMIN_ENDPOINTS = List.of(
            new String[] {"POST", "/consumers"}, new String[] {"GET", "/consumers"},
            new String[] {"GET", "/consumers/someone"}, new String[] {"POST", "/consumers/someone/keys"},
            new String[] {"DELETE", "/consumers/someone/keys/key_0"}, new String[] {"GET", "/actuator/prometheus"},
            new String[] {"GET", "/actuator/info"});

    @Autowired
    private ConsumerService consumers;

    @DynamicPropertySource
    static void environmentKey(DynamicPropertyRegistry registry) {
        registry.add("cdc.auth.consumer-api-keys", () -> "from-env=" + ENVIRONMENT_KEY);
    }

    @Test
    void everyProtectedEndpointAnswers401WithoutAValidKey() {
        List<String[]> all = new ArrayList<>(EXPORT_ENDPOINTS);
        all.addAll(ADMIN_ENDPOINTS);
        for (String[] endpoint : all) {
            Api.Response missing = api.send(endpoint[0], endpoint[1], Map.of("X-Consumer-ID", "someone"), null);
            assertUnauthorized(missing, endpoint, false);
            for (Map<String, String> wrong : List.of(bearer("cdc_not-a-key-of-anyone-at-all-0123456789"),
                    Map.of("X-API-Key", "cdc_not-a-key-of-anyone-at-all-0123456789"),
                    Map.of("Authorization", "Basic dXNlcjpwYXNz"))) {
                assertUnauthorized(api.send(endpoint[0], endpoint[1], wrong, null), endpoint, true);
            }
        }
    }

    @Test
    void aKeyActsForItsOwnConsumerOnly() {
        String alice = newConsumer().apiKey;
        for (String[] endpoint : EXPORT_ENDPOINTS) {
            Map<String, String> headers = with(bearer(alice), "X-Consumer-ID", "bob");
            assertForbidden(api.send(endpoint[0], endpoint[1], headers, null), endpoint);
        }
        assertForbidden(api.send("GET", "/exports/jobs?consumerId=bob", bearer(alice), null),
                new String[] {"GET", "/exports/jobs?consumerId=bob"});
        for (String[] endpoint : ADMIN_ENDPOINTS) {
            assertForbidden(api.send(endpoint[0], endpoint[1], bearer(alice), null), endpoint);
        }
        for (String[] endpoint : EXPORT_ENDPOINTS) {
            assertForbidden(api.send(endpoint[0], endpoint[1], bearer(ADMIN_TOKEN), null), endpoint);
        }
    }

    @Test
    void healthAndApiDocsStayOpen() {
        for (String path : List.of("/health", "/actuator/health", "/actuator/health/readiness", "/v3/api-docs")) {
            assertThat(api.send("GET", path, Map.of(), null).status()).as(path).isEqualTo(200);
            assertThat(api.send("GET", path, bearer("cdc_wrong-key-0123456789012345678901"), null).status())
                    .as(path + " with a wrong key").isEqualTo(200);
        }
    }

    @Test
    void wholeExportFlowWithKeys() throws Exception {
        Consumer alice = newConsumer();
        Consumer bob = newConsumer();
        insertUser("Ann", "ann@example.com");
        insertUser("Ben", "ben@example.com");

        Api.Response started = api.send("POST", "/exports/delta", bearer(alice.apiKey), null);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        String jobId = started.field("jobId");
        assertThat(awaitJob(jobId)).isEqualTo("completed");

        Map<String, String> viaHeader = Map.of("X-API-Key", alice.apiKey, "X-Consumer-ID", alice.id);
        Api.Response job = api.send("GET", "/exports/jobs/" + jobId, viaHeader, null);
        assertThat(job.status()).isEqualTo(200);
        assertThat(job.field("consumerId")).isEqualTo(alice.id);
        Api.Response file = api.send("GET", "/exports/jobs/" + jobId + "/file", bearer(alice.apiKey), null);
        assertThat(file.status()).isEqualTo(200);
        assertThat(file.body()).isEqualTo(Files.readString(OUTPUT_DIR.resolve(job.field("outputFilename"))));
        assertThat(file.body()).contains("ann@example.com", "ben@example.com");
        assertThat(api.send("GET", "/exports/watermark", bearer(alice.apiKey), null).field("consumerId"))
                .isEqualTo(alice.id);
        assertThat(api.send("GET", "/exports/jobs", bearer(alice.apiKey), null).json().get("jobs").size())
                .isEqualTo(1);

        // Bob cannot see, download or cancel Alice's job, nor list it, nor read her watermark.
        for (String[] endpoint : List.of(new String[] {"GET", "/exports/jobs/" + jobId},
                new String[] {"GET", "/exports/jobs/" + jobId + "/file"},
                new String[] {"DELETE", "/exports/jobs/" + jobId}, new String[] {"GET", "/exports/watermark"})) {
            Api.Response response = api.send(endpoint[0], endpoint[1], bearer(bob.apiKey), null);
            assertThat(response.status()).as("%s %s", endpoint[0], endpoint[1]).isEqualTo(404);
        }
        assertThat(api.send("GET", "/exports/jobs", bearer(bob.apiKey), null).json().get("jobs").size())
                .isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = ?", Long.class, bob.id))
                .isZero();
    }

    @Test
    void rotationKeepsTheOldKeyForTheOverlapThenRejectsIt() {
        Consumer alice = newConsumer();
        Api.Response rotated = admin("POST", "/consumers/" + alice.id + "/keys", null);
        assertThat(rotated.status()).as(rotated.body()).isEqualTo(201);
        String second = rotated.field("apiKey");
        assertThat(rotated.field("previousKeysExpireAt")).isNotNull();
        assertThat(statusWith(alice.apiKey)).as("old key within the default overlap").isEqualTo(200);
        assertThat(statusWith(second)).isEqualTo(200);

        Api.Response third = admin("POST", "/consumers/" + alice.id + "/keys?overlap=PT1S", null);
        assertThat(third.status()).isEqualTo(201);
        assertThat(statusWith(second)).as("within a one-second overlap").isEqualTo(200);
        long deadline = System.currentTimeMillis() + 10_000;
        while (statusWith(second) == 200 && System.currentTimeMillis() < deadline) {
            sleep(100);
        }
        assertThat(statusWith(second)).as("after the overlap").isEqualTo(401);
        assertThat(statusWith(alice.apiKey)).as("the first key expired no later than the second").isEqualTo(401);
        assertThat(statusWith(third.field("apiKey"))).isEqualTo(200);

        Api.Response immediate = admin("POST", "/consumers/" + alice.id + "/keys?overlap=0", null);
        assertThat(statusWith(third.field("apiKey"))).as("overlap 0 ends the old key now").isEqualTo(401);
        assertThat(statusWith(immediate.field("apiKey"))).isEqualTo(200);

        Api.Response listed = admin("GET", "/consumers/" + alice.id, null);
        assertThat(listed.json().get("keys").size()).isEqualTo(4);
        assertThat(listed.body()).doesNotContain(immediate.field("apiKey"));
    }

    @Test
    void revokedKeyIsRejectedAtOnce() {
        Consumer alice = newConsumer();
        Api.Response second = admin("POST", "/consumers/" + alice.id + "/keys", null);
        assertThat(admin("DELETE", "/consumers/" + alice.id + "/keys/" + alice.keyId, null).status())
                .isEqualTo(204);
        assertThat(statusWith(alice.apiKey)).isEqualTo(401);
        assertThat(statusWith(second.field("apiKey"))).as("other keys are untouched").isEqualTo(200);
        assertThat(admin("DELETE", "/consumers/" + alice.id + "/keys/" + alice.keyId, null).status())
                .as("revoking twice").isEqualTo(204);
        assertThat(admin("DELETE", "/consumers/" + alice.id + "/keys/key_unknown", null).status()).isEqualTo(404);
        assertThat(admin("DELETE", "/consumers/nobody-" + UUID.randomUUID() + "/keys/" + alice.keyId, null)
                .status()).isEqualTo(404);
    }

    @Test
    void consumerManagementRejectsBadInput() {
        Consumer alice = newConsumer();
        assertProblem(admin("POST", "/consumers", "{\"consumerId\":\"" + alice.id + "\"}"), 409);
        assertProblem(admin("POST", "/consumers", "{\"consumerId\":\"../etc\"}"), 400);
        for (String dots : List.of(".", "..", "...")) {
            assertProblem(admin("POST", "/consumers", "{\"consumerId\":\"" + dots + "\"}"), 400);
        }
        assertProblem(admin("POST", "/consumers", "{}"), 400);
        assertProblem(admin("POST", "/consumers", "not json"), 400);
        assertProblem(admin("POST", "/consumers", null), 400);
        assertProblem(admin("POST", "/consumers/" + alice.id + "/keys?overlap=-PT1H", null), 400);
        assertProblem(admin("POST", "/consumers/" + alice.id + "/keys?overlap=soon", null), 400);
        assertProblem(admin("POST", "/consumers/" + alice.id + "/keys?overlap=P365D", null), 400);
        assertProblem(admin("POST", "/consumers/nobody-" + UUID.randomUUID() + "/keys", null), 404);
        assertProblem(admin("GET", "/consumers/nobody-" + UUID.randomUUID(), null), 404);
    }

    @Test
    void keysAndTokenNeverReachLogsOrTheDatabase(CapturedOutput output) throws Exception {
        Consumer alice = newConsumer();
        String rotated = admin("POST", "/consumers/" + alice.id + "/keys", null).field("apiKey");
        statusWith(alice.apiKey);
        statusWith(rotated);
        statusWith(rotated + "x");
        api.send("GET", "/exports/jobs", Map.of("X-API-Key", rotated, "X-Consumer-ID", "mallory"), null);
        admin("DELETE", "/consumers/" + alice.id + "/keys/" + alice.keyId, null);
        statusWith(alice.apiKey);

        String log = output.getOut() + output.getErr();
        for (String event : List.of("consumer_created", "key_rotated", "key_revoked", "auth_failed",
                "unknown_key", "revoked_key", "consumer_mismatch")) {
            assertThat(log).contains("\"" + event + "\"");
        }
        assertThat(log).contains(alice.keyId);
        for (String secret : List.of(alice.apiKey, rotated, ADMIN_TOKEN, ENVIRONMENT_KEY)) {
            assertThat(log).doesNotContain(secret);
            assertThat(databaseText()).doesNotContain(secret);
        }
        byte[] stored = jdbc.queryForObject("SELECT secret_hash FROM api_keys WHERE id = ?", byte[].class,
                alice.keyId);
        assertThat(HexFormat.of().formatHex(stored)).isEqualTo(HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(alice.apiKey.getBytes("UTF-8"))));
    }

    @Test
    void rateLimitAnswers429WithRetryAfterPerConsumer() {
        Consumer alice = newConsumer();
        Consumer bob = newConsumer();
        Api.Response last = null;
        for (int i = 0; i <= RATE_LIMIT; i++) {
            last = api.send("GET", "/exports/jobs", bearer(alice.apiKey), null);
            if (i < RATE_LIMIT) {
                assertThat(last.status()).as("request %d", i + 1).isEqualTo(200);
            }
        }
        assertProblem(last, 429);
        assertThat(Long.parseLong(last.header("Retry-After"))).isBetween(1L, 60L);
        assertThat(api.send("GET", "/exports/jobs", bearer(bob.apiKey), null).status())
                .as("another consumer has its own bucket").isEqualTo(200);
    }

    @Test
    void responsesCarrySecurityHeaders() {
        Consumer alice = newConsumer();
        for (Api.Response response : List.of(api.send("GET", "/exports/jobs", bearer(alice.apiKey), null),
                api.send("GET", "/exports/jobs", Map.of(), null), api.send("GET", "/health", Map.of(), null))) {
            assertThat(response.header("X-Content-Type-Options")).isEqualTo("nosniff");
            assertThat(response.header("X-Frame-Options")).isEqualTo("DENY");
            assertThat(response.header("Cache-Control")).contains("no-store");
        }
    }

    @Test
    void keyFromConsumerApiKeysWorksAndIsListedAsEnvironmentKey() {
        assertThat(api.send("GET", "/exports/jobs", bearer(ENVIRONMENT_KEY), null).status()).isEqualTo(200);
        Api.Response consumer = admin("GET", "/consumers/from-env", null);
        assertThat(consumer.status()).isEqualTo(200);
        assertThat(consumer.json().get("keys").get(0).get("origin").asString()).isEqualTo("environment");
        assertThat(admin("GET", "/consumers", null).body()).contains("\"from-env\"");
    }

    @Test
    void aKeyRemovedFromConsumerApiKeysIsRevokedAtTheNextStart() {
        String added = "test-added-environment-key-" + UUID.randomUUID();
        ConsumerService.EnvironmentKey original = new ConsumerService.EnvironmentKey(
                new ConsumerId("from-env"), ENVIRONMENT_KEY);
        // What start-up does with CONSUMER_API_KEYS, once with a second key and once without it again.
        consumers.reconcileEnvironmentKeys(List.of(original, new ConsumerService.EnvironmentKey(
                new ConsumerId("from-env-2"), added)));
        assertThat(statusWith(added)).isEqualTo(200);
        consumers.reconcileEnvironmentKeys(List.of(original));
        assertThat(statusWith(added)).isEqualTo(401);
        assertThat(statusWith(ENVIRONMENT_KEY)).as("listed keys stay").isEqualTo(200);
    }

    @Test
    void aKeyCheckedWhileTheDatabaseRestartsGets503NotAnAuthError() throws Exception {
        Consumer alice = newConsumer();
        try (java.sql.Connection admin = openConnection(); java.sql.Statement statement = admin.createStatement()) {
            statement.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    + "WHERE datname = current_database() AND pid <> pg_backend_pid()");
        }
        // Requests may meet dead pooled connections: 503 with Retry-After, never a 401 or a 500.
        Api.Response response = api.send("GET", "/exports/jobs", bearer(alice.apiKey), null);
        for (int attempt = 0; response.status() == 503 && attempt < 10; attempt++) {
            assertThat(response.header("Retry-After")).isNotNull();
            response = api.send("GET", "/exports/jobs", bearer(alice.apiKey), null);
        }
        assertThat(response.status()).as(response.body()).isEqualTo(200);
    }

    // --- helpers ------------------------------------------------------------------------------------------------

    private record Consumer(String id, String keyId, String apiKey) {
    }

    private Consumer newConsumer() {
        String id = "c-" + UUID.randomUUID();
        Api.Response created = admin("POST", "/consumers", "{\"consumerId\":\"" + id + "\"}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.header("Location")).isEqualTo("/consumers/" + id);
        assertThat(created.field("apiKey")).startsWith("cdc_").hasSizeGreaterThanOrEqualTo(40);
        return new Consumer(id, created.field("keyId"), created.field("apiKey"));
    }

    private Api.Response admin(String method, String path, String body) {
        return api.send(method, path, bearer(ADMIN_TOKEN), body);
    }

    private int statusWith(String key) {
        return api.send("GET", "/exports/jobs", bearer(key), null).status();
    }

    private static Map<String, String> bearer(String key) {
        return Map.of("Authorization", "Bearer " + key);
    }

    private static Map<String, String> with(Map<String, String> headers, String name, String value) {
        Map<String, String> all = new LinkedHashMap<>(headers);
        all.put(name, value);
        return all;
    }

    /** Every row of every table of the service, as text. */
    private String databaseText() {
        StringBuilder text = new StringBuilder();
        for (String table : jdbc.queryForList("SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                String.class)) {
            jdbc.queryForList("SELECT t::text FROM \"" + table + "\" t", String.class).forEach(text::append);
        }
        return text.toString();
    }

    private static void assertUnauthorized(Api.Response response, String[] endpoint, boolean keySent) {
        assertProblem(response, 401);
        assertThat(response.header("WWW-Authenticate")).as("%s %s", endpoint[0], endpoint[1])
                .startsWith("Bearer realm=\"cdc-export\"");
        assertThat(response.header("WWW-Authenticate").contains("invalid_token")).isEqualTo(keySent);
    }

    private static void assertForbidden(Api.Response response, String[] endpoint) {
        assertThat(response.status()).as("%s %s: %s", endpoint[0], endpoint[1], response.body()).isEqualTo(403);
        assertProblem(response, 403);
    }

    private static void assertProblem(Api.Response response, int status) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.field("detail")).isNotBlank();
    }
}
