package com.cdcexport.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Talks to the running service over real HTTP, as curl would, and checks every answer against the service's
 * OpenAPI document ({@link ApiContract}).
 */
public final class Api {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    public Api(int port) {
        this.base = "http://localhost:" + port;
    }

    public Response post(String path, String consumerId) {
        return send("POST", path, consumerId);
    }

    public Response get(String path, String consumerId) {
        return send("GET", path, consumerId);
    }

    public Response send(String method, String path, String consumerId) {
        return consumerId == null ? send(method, path, Map.of(), null)
                : send(method, path, Map.of("X-Consumer-ID", consumerId), null);
    }

    /** Any request: {@code headers} as given, {@code jsonBody} (if not null) as application/json. */
    public Response send(String method, String path, Map<String, String> headers, String jsonBody) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(jsonBody));
        headers.forEach(request::header);
        if (jsonBody != null) {
            request.header("Content-Type", "application/json");
        }
        try {
            HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            ApiContract.check(base, client, method, path, response);
            return new Response(response.statusCode(), response, response.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public record Response(int status, HttpResponse<String> raw, String body) {

        public JsonNode json() {
            return JSON.readTree(body);
        }

        public String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }

        public String field(String name) {
            JsonNode node = json().get(name);
            return node == null || node.isNull() ? null : node.asString();
        }
    }
}
