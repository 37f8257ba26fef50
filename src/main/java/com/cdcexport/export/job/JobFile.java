package com.cdcexport.export.job;

import java.util.List;

import io.swagger.v3.oas.annotations.media.Schema;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * One file of an export: the table it holds, its name in the output directory and, once the export completed,
 * its row count.
 */
public record JobFile(String table, String filename, @Schema(nullable = true) Long rows) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    static String json(List<JobFile> files) {
        return JSON.writeValueAsString(files);
    }

    static List<JobFile> parse(String json) {
        return json == null ? List.of() : JSON.readValue(json, new TypeReference<List<JobFile>>() { });
    }
}
