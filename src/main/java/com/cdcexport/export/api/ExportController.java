package com.cdcexport.export.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.config.Timestamps;
import com.cdcexport.consumer.Acting;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.ConsumerFormats;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.ExportJobService;
import com.cdcexport.export.job.JobFile;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;
import com.cdcexport.export.watermark.WatermarkService;

@Tag(name = "Exports")
@RestController
class ExportController {

    static final String CONSUMER_HEADER = "X-Consumer-ID";

    private static final int MAX_TABLES = 100;

    private final ExportJobService jobs;
    private final WatermarkService watermarks;
    private final CapturedTables captured;
    private final TableAccessStore access;

    ExportController(ExportJobService jobs, WatermarkService watermarks, CapturedTables captured,
                     TableAccessStore access) {
        this.jobs = jobs;
        this.watermarks = watermarks;
        this.captured = captured;
        this.access = access;
    }

    @Operation(summary = "Start an export", description = "Queues a full, incremental or delta export for the "
            + "consumer and answers at once; follow it at /exports/jobs/{jobId}.")
    @ApiResponse(responseCode = "202", description = "Accepted; the export runs in the background")
    @ApiDocs.BadRequest
    @ApiDocs.NotFound
    @ApiDocs.Conflict
    @ApiResponse(responseCode = "405", description = "watermark and jobs are read with GET")
    @PostMapping("/exports/{type}")
    @ResponseStatus(HttpStatus.ACCEPTED)
    ExportAccepted start(@Parameter(description = "The kind of export", example = "delta",
                                 schema = @Schema(type = "string", allowableValues = {"full", "incremental", "delta"}))
                         @PathVariable String type,
                         @Parameter(description = "Tables to export in one snapshot, [schema.]table, repeatable; "
                                 + "users when omitted", example = "public.orders")
                         @RequestParam(name = "table", required = false) List<String> table,
                         @Parameter(description = "The files' format, one for every table of the export: csv (the "
                                 + "original CSV), csv.gz, csv.zst, jsonl (one JSON object per line), jsonl.gz, "
                                 + "jsonl.zst, parquet; or iceberg: no files, each table applied to the consumer's "
                                 + "Iceberg table (GET /exports/iceberg lists them). The consumer's default format "
                                 + "when omitted (csv unless the admin set another with PUT "
                                 + "/consumers/{consumerId}/format).", example = "csv.gz",
                                 schema = @Schema(type = "string", allowableValues = {"csv", "csv.gz", "csv.zst",
                                         "jsonl", "jsonl.gz", "jsonl.zst", "parquet", "iceberg"}))
                         @RequestParam(name = "format", required = false) String format,
                         @ApiDocs.ConsumerHeader @RequestHeader(name = CONSUMER_HEADER, required = false)
                         String consumerId,
                         @Parameter(hidden = true) Acting acting)
            throws HttpRequestMethodNotSupportedException {
        if (type.equals("watermark") || type.equals("jobs")) {
            throw new HttpRequestMethodNotSupportedException("POST", Set.of("GET"));
        }
        ExportType exportType = ExportType.fromSlug(type).orElseThrow(() -> new UnknownExportTypeException(type));
        Optional<ExportFormat> requested = Optional.ofNullable(format).map(ConsumerFormats::parse);
        ConsumerId consumer = acting.consumerFor(consumerId);
        List<TableName> tables = tables(table);
        for (TableName t : tables) {
            access.accessOf(consumer, t); // 403 before anything is queued
        }
        ExportJob job = jobs.request(exportType, requested, consumer, tables);
        return new ExportAccepted(job.id().toString(), "started", job.exportType().slug(), job.format().slug(),
                job.outputFilename(), job.files(), job.manifestFilename());
    }

    /** The requested tables, each captured, without repeats; the seed's users when none is named. */
    private List<TableName> tables(List<String> requested) {
        if (requested == null || requested.isEmpty()) {
            requested = List.of(TableName.USERS.qualified());
        }
        if (requested.size() > MAX_TABLES) {
            throw new InvalidTableException("At most " + MAX_TABLES + " tables per export");
        }
        List<TableName> tables = new ArrayList<>();
        for (String text : requested) {
            TableName name = TableName.parse(text).orElseThrow(() -> new InvalidTableException(
                    "Not a table name: use [schema.]table with letters, digits, _ and $"));
            if (!captured.isCaptured(name)) {
                throw new TableAccessStore.UnknownTableException(name);
            }
            if (!tables.contains(name)) {
                tables.add(name);
            }
        }
        return tables;
    }

    @Operation(summary = "The consumer's watermark",
            description = "lastExportedAt is the greatest updated_at the consumer has been sent; it never decreases.")
    @ApiResponse(responseCode = "200", description = "The watermark")
    @ApiDocs.BadRequest
    @ApiResponse(responseCode = "404", description = "The consumer has never completed an export",
            content = @Content(mediaType = ApiDocs.PROBLEM, examples = @ExampleObject(
                    "{\"title\":\"Not Found\",\"status\":404,\"detail\":\"No watermark for this consumer\"}")))
    @GetMapping("/exports/watermark")
    WatermarkView watermark(@ApiDocs.ConsumerHeader @RequestHeader(name = CONSUMER_HEADER, required = false)
                            String consumerId,
                            @Parameter(description = "The table, [schema.]table; users when omitted",
                                    example = "public.orders")
                            @RequestParam(name = "table", required = false) String table,
                            @Parameter(hidden = true) Acting acting) {
        ConsumerId consumer = acting.consumerFor(consumerId);
        TableName name = tables(table == null ? null : List.of(table)).get(0);
        return watermarks.find(consumer, name)
                .map(w -> new WatermarkView(w.consumerId(), name.qualified(), Timestamps.json(w.lastExportedAt())))
                .orElseThrow(() -> new NoWatermarkException(consumer));
    }

    record ExportAccepted(String jobId, String status, String exportType, String format, String outputFilename,
                          List<JobFile> files,
                          @Schema(nullable = true, description = "The manifest the export will write beside its "
                                  + "files; null for an export to Iceberg tables") String manifestFilename) {
    }

    record WatermarkView(String consumerId, String table, String lastExportedAt) {
    }

    static final class InvalidTableException extends ErrorResponseException {
        InvalidTableException(String detail) {
            super(HttpStatus.BAD_REQUEST, ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, detail), null);
        }
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
