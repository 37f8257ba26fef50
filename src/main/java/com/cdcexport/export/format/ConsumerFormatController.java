package com.cdcexport.export.format;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.consumer.ConsumerId;

/** The admin sets a consumer's default format (under /consumers, so the admin token guards it). */
@Tag(name = "Consumers")
@RestController
class ConsumerFormatController {

    private static final String FORMATS = "csv, csv.gz, csv.zst, jsonl, jsonl.gz, jsonl.zst, parquet";

    private final ConsumerFormats formats;

    ConsumerFormatController(ConsumerFormats formats) {
        this.formats = formats;
    }

    record FormatSetting(@Schema(description = "The format of the consumer's exports that name none: " + FORMATS,
            example = "parquet") String format) {
    }

    record ConsumerFormat(String consumerId, @Schema(example = "parquet") String format) {
    }

    @Operation(summary = "A consumer's default export format",
            description = "The format of its exports (requested or scheduled) that name none; csv until set.")
    @ApiResponse(responseCode = "200", description = "The consumer's default format")
    @ApiResponse(responseCode = "404", description = "No such consumer",
            content = @Content(mediaType = "application/problem+json"))
    @GetMapping("/consumers/{consumerId}/format")
    ConsumerFormat get(@PathVariable String consumerId) {
        ConsumerId consumer = new ConsumerId(consumerId);
        if (!formats.exists(consumer)) {
            throw noConsumer(consumer);
        }
        return new ConsumerFormat(consumer.value(), formats.defaultOf(consumer).slug());
    }

    @Operation(summary = "Set a consumer's default export format", description = "One of " + FORMATS + ".")
    @ApiResponse(responseCode = "200", description = "The consumer's default format, as stored")
    @ApiResponse(responseCode = "400", description = "Not a format; the problem lists the valid ones",
            content = @Content(mediaType = "application/problem+json"))
    @ApiResponse(responseCode = "404", description = "No such consumer",
            content = @Content(mediaType = "application/problem+json"))
    @PutMapping("/consumers/{consumerId}/format")
    ConsumerFormat put(@PathVariable String consumerId, @RequestBody FormatSetting setting) {
        ConsumerId consumer = new ConsumerId(consumerId);
        ExportFormat format = ConsumerFormats.parse(setting == null ? null : setting.format());
        if (!formats.setDefault(consumer, format)) {
            throw noConsumer(consumer);
        }
        return new ConsumerFormat(consumer.value(), format.slug());
    }

    private static ErrorResponseException noConsumer(ConsumerId consumer) {
        return new ErrorResponseException(HttpStatus.NOT_FOUND, ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND,
                "No consumer " + consumer + "; create it with POST /consumers"), null);
    }
}
