package com.cdcexport.export.api;

import java.util.Set;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.HttpStatus;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.auth.Caller;
import com.cdcexport.config.Timestamps;
import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.ExportType;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.ExportJobService;
import com.cdcexport.export.watermark.WatermarkService;

@Tag(name = "Exports")
@RestController
class ExportController {

    static final String CONSUMER_HEADER = "X-Consumer-ID";

    private final ExportJobService jobs;
    private final WatermarkService watermarks;

    ExportController(ExportJobService jobs, WatermarkService watermarks) {
        this.jobs = jobs;
        this.watermarks = watermarks;
    }

    @Operation(summary = "Start an export", description = "Queues a full, incremental or delta export for the "
            + "consumer and answers at once; follow it at /exports/jobs/{jobId}.")
    @ApiResponse(responseCode = "202", description = "Accepted; the export runs in the background")
    @ApiDocs.BadRequest
    @ApiDocs.NotFound
    @ApiDocs.Conflict
    @ApiResponse(responseCode = "429", description = "The queue is full; retry after Retry-After seconds",
            content = @Content(mediaType = ApiDocs.PROBLEM))
    @PostMapping("/exports/{type}")
    @ResponseStatus(HttpStatus.ACCEPTED)
    ExportAccepted start(@Parameter(description = "full, incremental or delta", example = "delta")
                         @PathVariable String type,
                         @ApiDocs.ConsumerHeader @RequestHeader(name = CONSUMER_HEADER, required = false)
                         String consumerId)
            throws HttpRequestMethodNotSupportedException {
        if (type.equals("watermark") || type.equals("jobs")) {
            throw new HttpRequestMethodNotSupportedException("POST", Set.of("GET"));
        }
        ExportType exportType = ExportType.fromSlug(type).orElseThrow(() -> new UnknownExportTypeException(type));
        ConsumerId consumer = Caller.consumerFor(consumerId);
        ExportJob job = jobs.submit(exportType, consumer);
        return new ExportAccepted(job.id().toString(), "started", job.exportType().slug(), job.outputFilename());
    }

    @Operation(summary = "The consumer's watermark",
            description = "lastExportedAt is the greatest updated_at the consumer has been sent; it never decreases.")
    @ApiDocs.BadRequest
    @ApiResponse(responseCode = "404", description = "The consumer has never completed an export",
            content = @Content(mediaType = ApiDocs.PROBLEM, examples = @ExampleObject(
                    "{\"title\":\"Not Found\",\"status\":404,\"detail\":\"No watermark for this consumer\"}")))
    @GetMapping("/exports/watermark")
    WatermarkView watermark(@ApiDocs.ConsumerHeader @RequestHeader(name = CONSUMER_HEADER, required = false)
                            String consumerId) {
        ConsumerId consumer = Caller.consumerFor(consumerId);
        return watermarks.find(consumer)
                .map(w -> new WatermarkView(w.consumerId(), Timestamps.json(w.lastExportedAt())))
                .orElseThrow(() -> new NoWatermarkException(consumer));
    }

    record ExportAccepted(String jobId, String status, String exportType, String outputFilename) {
    }

    record WatermarkView(String consumerId, String lastExportedAt) {
    }

    static final class UnknownExportTypeException extends RuntimeException {
        UnknownExportTypeException(String type) {
            // The type is echoed only after it proved harmless: path variables cannot contain '/'.
            super("Unknown export type '" + (type.length() > 40 ? type.substring(0, 40) + "..." : type)
                    + "': use full, incremental or delta");
        }
    }

    static final class NoWatermarkException extends RuntimeException {
        NoWatermarkException(ConsumerId consumer) {
            super("No watermark for this consumer");
        }
    }
}
