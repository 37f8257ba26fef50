package com.cdcexport.console;

import static com.cdcexport.console.ConsoleClient.SESSION_COOKIE;
import static com.cdcexport.console.ConsoleClient.setCookie;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.catalina.Context;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.RawHttp;

/**
 * The console's sign-in over plain HTTP: no session before a sign-in, a cap on sessions, a per-address allowance
 * of sign-in page requests, tokens only in a POST body, and redirects that never take the request's Host. Each test
 * comes from addresses of its own (X-Forwarded-For, trusted from localhost with FORWARD_HEADERS_STRATEGY=native),
 * so the per-address allowances of one test leave the others alone; each signs out what it signed in.
 */
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = {
        "cdc.auth.mode=api-key",
        "cdc.auth.admin-token=" + ConsoleSignInTest.ADMIN_TOKEN,
        "cdc.console.max-sessions=" + ConsoleSignInTest.MAX_SESSIONS,
        "cdc.console.sign-in-per-minute=" + ConsoleSignInTest.SIGN_IN_PER_MINUTE,
        "server.forward-headers-strategy=native"})
class ConsoleSignInTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "console-sign-in-admin-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    static final int MAX_SESSIONS = 3;
    static final int SIGN_IN_PER_MINUTE = 12;
    private static final String SIGN_IN = ConsoleSecurity.SIGN_IN;
    private static final String CSRF_COOKIE = "CDC_CONSOLE_CSRF";
    private static final String FORGED_HOST = "evil.example.com";

    @Autowired
    private WebServerApplicationContext context;

    @Autowired
    private LoggingSystem logging;

    @Test
    void visitsToTheSignInPageOpenNoSessionAndItsFormStillSignsIn() {
        int before = sessions();
        HttpResponse<String> page = null;
        for (int i = 0; i < 8; i++) {
            page = new ConsoleClient(port, "198.51.100.1").get(SIGN_IN);
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(setCookie(page, SESSION_COOKIE)).as("visit %d", i + 1).isNull();
        }
        assertThat(sessions()).as("anonymous visits cost no server session").isEqualTo(before);
        // Until there is a session, the form's CSRF token is checked against a cookie for the sign-in form only.
        assertThat(setCookie(page, CSRF_COOKIE)).contains("Path=/console/sign-in", "HttpOnly", "SameSite=Strict");

        ConsoleClient withoutCookie = new ConsoleClient(port, "198.51.100.1");
        String csrf = withoutCookie.signInForm();
        withoutCookie.cookies.clear();
        assertThat(withoutCookie.post(SIGN_IN, Map.of("token", ADMIN_TOKEN, "_csrf", csrf)).statusCode())
                .as("the form's token without its cookie").isEqualTo(403);

        ConsoleClient operator = new ConsoleClient(port, "198.51.100.1");
        HttpResponse<String> signedIn = operator.signIn(ADMIN_TOKEN);
        assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(302);
        assertThat(setCookie(signedIn, SESSION_COOKIE)).isNotNull();
        assertThat(sessions()).as("a sign-in opens one").isEqualTo(before + 1);
        assertThat(operator.get("/console/jobs").statusCode()).isEqualTo(200);
        assertThat(operator.signOut().statusCode()).isEqualTo(302);
        assertThat(sessions()).isEqualTo(before);
    }

    @Test
    void signInPageRequestsBeyondTheAllowanceOfAnAddressGet429() {
        ConsoleClient client = new ConsoleClient(port, "198.51.100.2");
        String csrf = null;
        for (int i = 1; i <= SIGN_IN_PER_MINUTE; i++) {
            HttpResponse<String> page = client.get(SIGN_IN);
            assertThat(page.statusCode()).as("request %d", i).isEqualTo(200);
            csrf = ConsoleClient.csrf(page.body());
        }

        HttpResponse<String> page = client.get(SIGN_IN);
        HttpResponse<String> signIn = client.post(SIGN_IN, Map.of("token", ADMIN_TOKEN, "_csrf", csrf));
        for (HttpResponse<String> refused : List.of(page, signIn)) {
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("Content-Type")).get().asString().startsWith("text/html");
            assertThat(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 60L);
            assertThat(refused.body()).contains("Too many requests to the sign-in page");
        }
        assertThat(client.cookies).doesNotContainKey(SESSION_COOKIE);
        assertThat(new ConsoleClient(port, "198.51.100.22").get(SIGN_IN).statusCode())
                .as("another address").isEqualTo(200);
    }

    @Test
    void atTheSessionCapASignInGets503AndTheSessionsInUseKeepWorking() {
        List<ConsoleClient> signedIn = new ArrayList<>();
        ConsoleClient late = new ConsoleClient(port, "198.51.100.39");
        try {
            int free = MAX_SESSIONS - sessions();
            for (int i = 0; i < free; i++) {
                ConsoleClient client = new ConsoleClient(port, "198.51.100.3" + i);
                assertThat(client.signIn(ADMIN_TOKEN).statusCode()).isEqualTo(302);
                signedIn.add(client);
            }
            assertThat(sessions()).isEqualTo(MAX_SESSIONS);

            HttpResponse<String> refused = late.signIn(ADMIN_TOKEN);
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(refused.body()).contains("as many sessions as it allows");
            assertThat(late.cookies).doesNotContainKey(SESSION_COOKIE);
            assertThat(sessions()).isEqualTo(MAX_SESSIONS);
            for (ConsoleClient client : signedIn) {
                assertThat(client.get("/console/jobs").statusCode()).as("a session in use").isEqualTo(200);
            }

            assertThat(signedIn.remove(0).signOut().statusCode()).isEqualTo(302);
            assertThat(late.signIn(ADMIN_TOKEN).statusCode()).as("a session ended frees its place").isEqualTo(302);
            signedIn.add(late);
        } finally {
            signedIn.forEach(ConsoleClient::signOut);
        }
    }

    @Test
    void aTokenOrCsrfTokenInTheQueryStringIsRefusedAndNeverLogged(CapturedOutput output) {
        // Spring Security writes every request line at debug: the level an operator turns on to look into a problem.
        logging.setLogLevel("org.springframework.security", LogLevel.DEBUG);
        try {
            ConsoleClient client = new ConsoleClient(port, "198.51.100.4");
            String csrf = client.signInForm();
            int mark = output.getAll().length();

            List<HttpResponse<String>> answers = List.of(
                    client.post(SIGN_IN + "?token=" + ADMIN_TOKEN + "&_csrf=" + encode(csrf), Map.of()),
                    client.post(SIGN_IN + "?token=" + ADMIN_TOKEN, Map.of("_csrf", csrf)),
                    client.post(SIGN_IN + "?_csrf=" + encode(csrf), Map.of("token", ADMIN_TOKEN)),
                    client.get(SIGN_IN + "?token=" + ADMIN_TOKEN),
                    client.post("/console/exports?_csrf=" + encode(csrf), Map.of("type", "full")));
            for (HttpResponse<String> refused : answers) {
                assertThat(refused.statusCode()).as(refused.uri().toString()).isEqualTo(400);
                assertThat(refused.body()).contains("never in a URL");
                assertThat(refused.headers().firstValue("Content-Security-Policy")).isPresent();
            }
            assertThat(client.cookies).doesNotContainKey(SESSION_COOKIE);
            assertThat(output.getAll().substring(mark)).doesNotContain(ADMIN_TOKEN).doesNotContain(csrf);
        } finally {
            logging.setLogLevel("org.springframework.security", null);
        }
    }

    @Test
    void noRedirectNorActuatorLinkTakesItsHostFromTheRequest() {
        Map<String, String> forged = Map.of("Host", FORGED_HOST, "X-Forwarded-For", "198.51.100.5");
        assertThat(RawHttp.send(port, "GET", "/console/jobs", forged).header("Location"))
                .isEqualTo("/console/sign-in");

        ConsoleClient client = new ConsoleClient(port, "198.51.100.5");
        String csrf = client.signInForm();
        RawHttp.Response signedIn = RawHttp.send(port, "POST", SIGN_IN, withCookies(forged, client.cookieHeader()),
                "token=" + encode(ADMIN_TOKEN) + "&_csrf=" + encode(csrf));
        assertThat(signedIn.status()).as(signedIn.body()).isEqualTo(302);
        assertThat(signedIn.header("Location")).isEqualTo("/console/jobs");
        String session = signedIn.header("Set-Cookie").lines().filter(c -> c.startsWith(SESSION_COOKIE + "="))
                .findFirst().orElseThrow().split(";", 2)[0];
        client.cookies.put(SESSION_COOKIE, session.substring(SESSION_COOKIE.length() + 1));
        assertThat(RawHttp.send(port, "GET", "/console", withCookies(forged, client.cookieHeader()))
                .header("Location")).isEqualTo("/console/jobs");
        String signOutCsrf = ConsoleClient.csrf(client.get("/console/jobs").body());
        RawHttp.Response signedOut = RawHttp.send(port, "POST", "/console/sign-out",
                withCookies(forged, client.cookieHeader()), "_csrf=" + encode(signOutCsrf));
        assertThat(signedOut.header("Location")).isEqualTo("/console/sign-in?signed-out");

        // Consumers outlive a test (and a run on the same database): a name of its own.
        String consumerId = "redirected-" + UUID.randomUUID().toString().substring(0, 6);
        Api.Response consumer = api.send("POST", "/consumers", Map.of("Authorization", "Bearer " + ADMIN_TOKEN),
                "{\"consumerId\":\"" + consumerId + "\"}");
        assertThat(consumer.status()).as(consumer.body()).isEqualTo(201);
        ConsoleClient consumerSession = new ConsoleClient(port, "198.51.100.5");
        assertThat(consumerSession.signIn(consumer.field("apiKey")).statusCode()).isEqualTo(302);
        api.send("DELETE", "/consumers/" + consumerId + "/keys/" + consumer.field("keyId"),
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN), null);
        assertThat(RawHttp.send(port, "GET", "/console/jobs", withCookies(forged, consumerSession.cookieHeader()))
                .header("Location")).as("a session whose key was revoked").isEqualTo("/console/sign-in?ended");

        RawHttp.Response links = RawHttp.send(port, "GET", "/actuator",
                Map.of("Host", FORGED_HOST, "Authorization", "Bearer " + ADMIN_TOKEN));
        assertThat(links.status()).as(links.body()).isEqualTo(200);
        assertThat(links.body()).doesNotContain(FORGED_HOST);
        assertThat(links.json().at("/_links/self/href").asString()).isEqualTo("/actuator");
        assertThat(links.json().at("/_links/health/href").asString()).isEqualTo("/actuator/health");
    }

    /** Server sessions of this instance, as Tomcat counts them. */
    private int sessions() {
        TomcatWebServer server = (TomcatWebServer) context.getWebServer();
        Context webapp = (Context) server.getTomcat().getHost().findChildren()[0];
        return webapp.getManager().getActiveSessions();
    }

    private static Map<String, String> withCookies(Map<String, String> headers, String cookies) {
        Map<String, String> all = new java.util.LinkedHashMap<>(headers);
        all.put("Cookie", cookies);
        return all;
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
