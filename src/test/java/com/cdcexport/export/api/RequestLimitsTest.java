package com.cdcexport.export.api;

import static com.cdcexport.export.api.BadInputTest.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/**
 * What a request may carry: no null where a name or value belongs, at most so many values in a rule, at most so
 * many bytes in a body. Each refusal is a 4xx problem+json that names what was wrong, and stores nothing.
 */
@TestPropertySource(properties = "cdc.auth.admin-token=" + RequestLimitsTest.ADMIN_TOKEN)
class RequestLimitsTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "request-limits-admin-token-7c2e9f4a1b8d3e6f5a0c";
    private static final Map<String, String> ADMIN = Map.of("Authorization", "Bearer " + ADMIN_TOKEN);
    /** The README's limits: values in one rule's filter, bytes in one request body. */
    private static final int MAX_VALUES = 1_000;
    private static final int MAX_BODY_BYTES = 1024 * 1024;

    private Api.Response rule(String json) {
        return api.send("PUT", "/consumers/analytics/tables/app.orders", ADMIN, json);
    }

    private long storedRules() {
        return jdbc.queryForObject("SELECT count(*) FROM consumer_tables", Long.class);
    }

    @Test
    void nullsInsideARuleAre400NotAServerError() {
        for (String body : List.of(
                "{\"columns\":[null]}",
                "{\"columns\":[\"total\", null]}",
                "{\"filter\":[null]}",
                "{\"filter\":[{\"column\":\"status\",\"op\":\"in\",\"values\":[null]}]}",
                "{\"filter\":[{\"column\":\"status\",\"op\":\"not in\",\"values\":[\"paid\", null]}]}",
                "{\"filter\":[{\"column\":\"status\",\"op\":null,\"value\":\"paid\"}]}",
                "{\"filter\":[{\"column\":null,\"op\":\"=\",\"value\":\"paid\"}]}",
                "null", "[]", "[null]", "{\"columns\":[[]]}", "{\"columns\":{}}")) {
            assertProblem(rule(body), 400, null);
        }
        assertThat(storedRules()).isZero();
        assertThat(rule("{\"columns\":[null]}").field("detail")).contains("null");
    }

    @Test
    void nullsInTheOtherBodiesAre400() {
        assertProblem(api.send("POST", "/consumers", ADMIN, "{\"consumerId\":null}"), 400, null);
        assertProblem(api.send("POST", "/consumers", ADMIN, "[null]"), 400, null);
        assertProblem(api.send("PUT", "/consumers/analytics/format", ADMIN, "{\"format\":null}"), 400, null);
        assertProblem(api.send("PUT", "/consumers/analytics/format", ADMIN, "null"), 400, null);
    }

    /** Spring Boot's error page is for the container's error dispatch; asked for directly it is no resource. */
    @Test
    void theErrorPathAskedForDirectlyIs404() {
        assertProblem(api.get("/error", null), 404, null);
        assertProblem(api.send("POST", "/error", ADMIN, "{}"), 404, null);
    }

    @Test
    void aRuleWithMoreValuesThanTheLimitIs400NamingIt() {
        Api.Response refused = rule(inRule(MAX_VALUES + 1));

        assertProblem(refused, 400, String.format(java.util.Locale.ROOT, "%,d", MAX_VALUES));
        assertThat(storedRules()).isZero();
        assertThat(rule(inRule(MAX_VALUES)).status()).as("the limit itself is allowed")
                .isEqualTo(200);
    }

    @Test
    void theValuesOfAllConditionsOfARuleCountTogether() {
        int half = MAX_VALUES / 2 + 1;
        String conditions = IntStream.range(0, 2).mapToObj(i -> "{\"column\":\"" + (i == 0 ? "status" : "customer")
                + "\",\"op\":\"in\",\"values\":[" + values(half) + "]}").collect(Collectors.joining(","));

        assertProblem(rule("{\"filter\":[" + conditions + "]}"), 400, "values");
        assertThat(storedRules()).isZero();
    }

    @Test
    void aBodyLargerThanTheLimitIs413BeforeItIsRead() throws IOException {
        // ~9 bytes a value: over the limit, yet under what Tomcat swallows after an early answer (2 MB)
        String big = inRule(150_000);

        Api.Response refused = rule(big);

        assertThat(big.length()).isGreaterThan(MAX_BODY_BYTES);
        assertProblem(refused, 413, "1 MiB");
        assertThat(storedRules()).isZero();

        // Declared larger than the limit and never sent: the answer comes at once, without waiting for the body.
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("PUT /consumers/analytics/tables/app.orders HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + ADMIN_TOKEN + "\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100000000\r\n\r\n{\"filter\":[").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = new String(readHead(socket.getInputStream()), StandardCharsets.UTF_8);
            assertThat(head).startsWith("HTTP/1.1 413").containsIgnoringCase("Content-Type: application/problem+json");
        }
    }

    @Test
    void aChunkedBodyIsCountedAsItArrives() throws IOException {
        String big = inRule(150_000);
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(("PUT /consumers/analytics/tables/app.orders HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + ADMIN_TOKEN + "\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] body = big.getBytes(StandardCharsets.UTF_8);
            try {
                for (int offset = 0; offset < body.length; offset += 8192) {
                    int length = Math.min(8192, body.length - offset);
                    out.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, offset, length);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException closedEarly) {
                // The service may answer and close before the whole body is sent: that is the point.
            }
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 413").containsIgnoringCase("Content-Type: application/problem+json")
                    .contains("1 MiB");
        }
        assertThat(storedRules()).isZero();
    }

    private static byte[] readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            head.append((char) c);
            if (head.toString().endsWith("\r\n\r\n")) {
                break;
            }
        }
        return head.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String inRule(int count) {
        return "{\"filter\":[{\"column\":\"status\",\"op\":\"in\",\"values\":[" + values(count) + "]}]}";
    }

    private static String values(int count) {
        return IntStream.range(0, count).mapToObj(i -> "\"" + i + "\"").collect(Collectors.joining(","));
    }
}
