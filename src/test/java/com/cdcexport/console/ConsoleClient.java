package com.cdcexport.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The console over plain HTTP, as a browser without JavaScript would use it: keeps its own cookies (also Secure
 * ones over plain HTTP, so a test can pretend to be behind a TLS proxy), follows no redirects, and may come from a
 * given address (X-Forwarded-For, for a server with FORWARD_HEADERS_STRATEGY=native).
 */
final class ConsoleClient {

    static final String SESSION_COOKIE = "CDC_CONSOLE_SESSION";
    private static final Pattern CSRF_FIELD = Pattern.compile("name=\"_csrf\"\\s+value=\"([^\"]+)\"");

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final Map<String, String> headers = new LinkedHashMap<>();
    final Map<String, String> cookies = new LinkedHashMap<>();

    ConsoleClient(int port, String address) {
        this.base = "http://localhost:" + port;
        if (address != null) {
            headers.put("X-Forwarded-For", address);
        }
    }

    /** Every request from now on says it came through a TLS-terminating proxy. */
    ConsoleClient viaTls() {
        headers.put("X-Forwarded-Proto", "https");
        return this;
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    /** A form POST: {@code form} as the application/x-www-form-urlencoded body. */
    HttpResponse<String> post(String path, Map<String, String> form) {
        String body = form.entrySet().stream()
                .map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&"));
        return send(HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** Opens the sign-in page and returns its form's CSRF token. */
    String signInForm() {
        HttpResponse<String> page = get(ConsoleSecurity.SIGN_IN);
        assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
        return csrf(page.body());
    }

    /** Signs in as a browser does (the form's page, then its POST) and returns the POST's answer. */
    HttpResponse<String> signIn(String token) {
        String csrf = signInForm();
        return post(ConsoleSecurity.SIGN_IN, Map.of("token", token, "_csrf", csrf));
    }

    /** Signs out from the jobs page's form. */
    HttpResponse<String> signOut() {
        HttpResponse<String> jobs = get("/console/jobs");
        assertThat(jobs.statusCode()).as(jobs.body()).isEqualTo(200);
        return post("/console/sign-out", Map.of("_csrf", csrf(jobs.body())));
    }

    /** The "Cookie" header this client would send now. */
    String cookieHeader() {
        return cookies.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("; "));
    }

    static String csrf(String page) {
        Matcher field = CSRF_FIELD.matcher(page);
        assertThat(field.find()).as("a CSRF field in:\n%s", page).isTrue();
        return field.group(1);
    }

    /** The Set-Cookie header of the named cookie, or null. */
    static String setCookie(HttpResponse<?> response, String name) {
        return response.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith(name + "=")).findFirst().orElse(null);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        headers.forEach(request::header);
        if (!cookies.isEmpty()) {
            request.header("Cookie", cookieHeader());
        }
        try {
            HttpResponse<String> response = client.send(request.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            keepCookies(response.headers().allValues("Set-Cookie"));
            return response;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void keepCookies(List<String> setCookies) {
        for (String setCookie : setCookies) {
            String pair = setCookie.split(";", 2)[0];
            int equals = pair.indexOf('=');
            String name = pair.substring(0, equals).strip();
            String value = pair.substring(equals + 1).strip();
            boolean expired = value.isEmpty() || setCookie.toLowerCase(java.util.Locale.ROOT).contains("max-age=0");
            if (expired) {
                cookies.remove(name);
            } else {
                cookies.put(name, value);
            }
        }
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
