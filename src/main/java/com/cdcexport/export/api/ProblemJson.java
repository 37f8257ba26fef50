package com.cdcexport.export.api;

import java.util.LinkedHashMap;
import java.util.Map;

import tools.jackson.databind.json.JsonMapper;

/**
 * A problem+json body (RFC 9457) for the answers written outside Spring MVC, where its problem handler cannot: the
 * container's own error reports and requests refused by a servlet filter before they reach a controller.
 */
final class ProblemJson {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ProblemJson() {
    }

    /** @param instance the request's path, or null to leave it out */
    static String of(int status, String title, String detail, String instance) {
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", "about:blank");
        problem.put("title", title);
        problem.put("status", status);
        problem.put("detail", detail);
        if (instance != null) {
            problem.put("instance", instance);
        }
        return JSON.writeValueAsString(problem);
    }
}
