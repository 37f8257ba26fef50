package com.cdcexport.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.LevelResolver;
import com.atlassian.oai.validator.report.ValidationReport;

/**
 * Every answer the tests receive must be one the service's own /v3/api-docs promises: status, content type,
 * headers and body schema (swagger-request-validator). The document is fetched once per running service.
 */
final class ApiContract {

    /** Paths the API document does not describe: the document itself, Swagger UI, Spring Boot's actuator. */
    private static final List<String> UNDESCRIBED = List.of("/v3/api-docs", "/swagger-ui", "/actuator");
    private static final Map<String, OpenApiInteractionValidator> VALIDATORS = new ConcurrentHashMap<>();

    private ApiContract() {
    }

    /** @throws AssertionError naming each way the response contradicts the document */
    static void check(String base, HttpClient client, String method, String target, HttpResponse<String> response) {
        String path = URI.create(target).getRawPath();
        if (UNDESCRIBED.stream().anyMatch(path::startsWith)) {
            return;
        }
        OpenApiInteractionValidator validator = VALIDATORS.computeIfAbsent(base, b -> load(b, client));
        SimpleResponse.Builder answer = SimpleResponse.Builder.status(response.statusCode());
        response.headers().map().forEach(answer::withHeader);
        if (!response.body().isEmpty()) {
            answer.withBody(response.body());
        }
        ValidationReport report = validator.validateResponse(path,
                Request.Method.valueOf(method.toUpperCase(Locale.ROOT)), answer.build());
        if (report.hasErrors()) {
            throw new AssertionError("The answer to " + method + " " + target + " (" + response.statusCode() + " "
                    + response.headers().firstValue("Content-Type").orElse("") + " " + response.body()
                    + ") contradicts /v3/api-docs:\n" + report.getMessages());
        }
    }

    private static OpenApiInteractionValidator load(String base, HttpClient client) {
        try {
            HttpResponse<String> docs = client.send(HttpRequest.newBuilder(URI.create(base + "/v3/api-docs"))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            if (docs.statusCode() != 200) {
                throw new IllegalStateException("GET /v3/api-docs answered " + docs.statusCode());
            }
            return OpenApiInteractionValidator.createForInlineApiSpecification(docs.body())
                    .withLevelResolver(LevelResolver.create()
                            // Unknown paths (404) and methods (405) are not the business of any one operation.
                            .withLevel("validation.request.path.missing", ValidationReport.Level.IGNORE)
                            .withLevel("validation.request.operation.notAllowed", ValidationReport.Level.IGNORE)
                            .build())
                    .build();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot fetch /v3/api-docs from " + base, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
