package com.cdcexport.export.api;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.core.io.InputStreamResource;
import org.springframework.core.io.Resource;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpRange;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.consumer.Acting;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.destination.ExportFileStore;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.job.ExportJobService;
import com.cdcexport.export.job.JobCursor;
import com.cdcexport.export.job.JobFile;
import com.cdcexport.export.job.JobPage;
import com.cdcexport.export.job.JobStatus;
import com.cdcexport.export.job.JobView;
import com.cdcexport.export.job.JobWaits;
import com.cdcexport.export.model.TableName;

/** Export jobs as a resource: follow one from the 202 to its file. */
@Tag(name = "Jobs")
@RestController
@RequestMapping("/exports/jobs")
class JobController {

    private static final int MAX_LIMIT = 100;
    /** The one range unit downloads support (Spring's HttpRange parses it, case as RFC 9110 writes it). */
    private static final String BYTES_UNIT = "bytes=";

    private final ExportJobService jobs;
    private final ExportFileStore files;
    private final JobWaits waits;

    JobController(ExportJobService jobs, ExportFileStore files, JobWaits waits) {
        this.jobs = jobs;
        this.files = files;
        this.waits = waits;
    }

    @Operation(summary = "One job: status, live progress, file name, timings, error")
    @ApiResponse(responseCode = "200", description = "The job")
    @ApiDocs.BadRequest
    @ApiDocs.NotFound
    @GetMapping("/{jobId}")
    JobView get(@PathVariable UUID jobId,
                @Parameter(description = "Seconds to wait for a queued or running job to end (completed, failed or "
                        + "cancelled) before answering: the answer comes as soon as it has ended, else after this "
                        + "long with the job as it is then; 0 answers at once",
                        schema = @Schema(minimum = "0", maximum = "60", defaultValue = "0"))
                @RequestParam(defaultValue = "0") int wait,
                @Parameter(hidden = true) Acting acting) throws InterruptedException {
        if (wait < 0 || wait > JobWaits.MAX_WAIT_SECONDS) {
            throw new InvalidParameterException("wait must be between 0 and " + JobWaits.MAX_WAIT_SECONDS
                    + " seconds");
        }
        JobView job = visible(jobId, acting);
        if (wait > 0 && !ended(job)) {
            waits.await(jobId, Duration.ofSeconds(wait));
            job = visible(jobId, acting);
        }
        return job;
    }

    /** Another consumer's job is answered like a missing one: its existence is that consumer's business too. */
    private JobView visible(UUID jobId, Acting acting) {
        return jobs.find(jobId).filter(job -> acting.maySee(new ConsumerId(job.consumerId())))
                .orElseThrow(() -> new JobNotFoundException(jobId));
    }

    private static boolean ended(JobView job) {
        return JobStatus.FINISHED.stream().anyMatch(status -> status.slug().equals(job.status()));
    }

    @Operation(summary = "Jobs, newest first",
            description = "Pass nextCursor as cursor for the next page; it is null on the last page.")
    @ApiResponse(responseCode = "200", description = "A page of jobs")
    @ApiDocs.BadRequest
    @GetMapping
    JobPage list(@Parameter(example = "consumer-1") @RequestParam(required = false) String consumerId,
                 @Parameter(schema = @Schema(type = "string",
                         allowableValues = {"queued", "running", "completed", "failed", "cancelled"}))
                 @RequestParam(required = false) String status,
                 @Parameter(schema = @Schema(minimum = "1", maximum = "100", defaultValue = "20"))
                 @RequestParam(defaultValue = "20") int limit,
                 @RequestParam(required = false) String cursor,
                 @Parameter(hidden = true) Acting acting) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new InvalidParameterException("limit must be between 1 and " + MAX_LIMIT);
        }
        Optional<JobStatus> wanted = Optional.ofNullable(status).map(s -> Arrays.stream(JobStatus.values())
                .filter(v -> v.slug().equals(s)).findFirst()
                .orElseThrow(() -> new InvalidParameterException(
                        "status must be one of queued, running, completed, failed, cancelled")));
        Optional<JobCursor> after;
        try {
            after = Optional.ofNullable(cursor).map(JobCursor::decode);
        } catch (IllegalArgumentException e) {
            throw new InvalidParameterException(e.getMessage());
        }
        Optional<ConsumerId> consumer = acting.keyConsumer()
                .or(() -> Optional.ofNullable(consumerId).map(ConsumerId::new));
        return jobs.list(consumer, wanted, limit, after);
    }

    @Operation(summary = "Download a completed job's file",
            description = "Content-Type by the job's format: text/csv, application/gzip, application/zstd, "
                    + "application/x-ndjson, application/vnd.apache.parquet. Range requests address the stored bytes.")
    @ApiResponse(responseCode = "200", description = "The file", content = {@Content(mediaType = "text/csv"),
            @Content(mediaType = "application/gzip"), @Content(mediaType = "application/zstd"),
            @Content(mediaType = "application/x-ndjson"), @Content(mediaType = "application/vnd.apache.parquet")})
    @ApiDocs.NotFound
    @ApiDocs.Conflict
    @ApiResponse(responseCode = "410", description = "The file was removed (retention)")
    @ApiResponse(responseCode = "206", description = "The requested byte range of the file",
            content = {@Content(mediaType = "text/csv"), @Content(mediaType = "application/gzip"),
                    @Content(mediaType = "application/zstd"), @Content(mediaType = "application/x-ndjson"),
                    @Content(mediaType = "application/vnd.apache.parquet")})
    @ApiResponse(responseCode = "416", description = "The Range lies outside the file; Content-Range gives its size",
            content = @Content)
    @GetMapping("/{jobId}/file")
    ResponseEntity<Resource> file(@PathVariable UUID jobId,
                                  @Parameter(description = "The table whose file to download, for exports of several "
                                          + "tables; the first table's by default", example = "public.orders")
                                  @RequestParam(required = false) String table,
                                  @Parameter(hidden = true) @RequestHeader(name = HttpHeaders.RANGE, required = false)
                                  String range, @Parameter(hidden = true) Acting acting) throws IOException {
        JobView job = completed(jobId, acting);
        String name = table == null ? job.outputFilename() : job.files().stream()
                .filter(f -> TableName.parse(table).map(TableName::qualified).filter(f.table()::equals).isPresent())
                .map(JobFile::filename).findFirst()
                .orElseThrow(() -> new InvalidParameterException("Job " + job.jobId() + " has no file of table "
                        + (table.length() > 64 ? table.substring(0, 64) + "..." : table)));
        MediaType type = MediaType.parseMediaType(ExportFormat.fromSlug(job.format()).orElseThrow().contentType());
        return download(job, name, type, range);
    }

    @Operation(summary = "Download a completed job's manifest",
            description = "The export's completion marker (JSON): every file with its rows, bytes and SHA-256, the "
                    + "columns with their PostgreSQL types, the snapshot window, a delta's counts by operation.")
    @ApiResponse(responseCode = "200", description = "The manifest",
            content = @Content(mediaType = "application/json"))
    @ApiDocs.NotFound
    @ApiDocs.Conflict
    @ApiResponse(responseCode = "410", description = "The manifest was removed (retention), or the job is from "
            + "before manifests")
    @GetMapping("/{jobId}/manifest")
    ResponseEntity<Resource> manifest(@PathVariable UUID jobId, @Parameter(hidden = true) Acting acting)
            throws IOException {
        JobView job = completed(jobId, acting);
        if (job.manifestFilename() == null) {
            throw new FileGoneException(job);
        }
        return download(job, job.manifestFilename(), MediaType.APPLICATION_JSON, null);
    }

    private JobView completed(UUID jobId, Acting acting) {
        JobView job = visible(jobId, acting);
        if (ExportFormat.fromSlug(job.format()).map(ExportFormat::isTable).orElse(false)) {
            throw new NoFileException(job);
        }
        if (!job.status().equals(JobStatus.COMPLETED.slug())) {
            throw new JobNotCompletedException(job);
        }
        return job;
    }

    private ResponseEntity<Resource> download(JobView job, String name, MediaType type, String range)
            throws IOException {
        Resource resource = files.published(name).orElseThrow(() -> new FileGoneException(job));
        ResponseEntity.BodyBuilder ok = ResponseEntity.ok()
                .contentType(type)
                .header(HttpHeaders.CONTENT_DISPOSITION,
                        ContentDisposition.attachment().filename(name).build().toString());
        if (range != null && !range.startsWith(BYTES_UNIT)) {
            // RFC 9110 (14.2): a Range in a unit the server does not support is ignored: the whole file, 200. Spring
            // applies any Range to a Resource body (416 for every unit but bytes), so this body is a plain stream
            // of the file, its length said here.
            return ok.contentLength(resource.contentLength()).header(HttpHeaders.ACCEPT_RANGES, "bytes")
                    .body(new InputStreamResource(resource.getInputStream()));
        }
        if (range != null && !satisfiable(range, resource)) {
            // Spring would answer 416 but still send the whole file as its body; a 416 carries none.
            return ResponseEntity.status(HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    .header(HttpHeaders.CONTENT_RANGE, "bytes */" + resource.contentLength()).build();
        }
        return ok.body(resource);
    }

    private static boolean satisfiable(String range, Resource resource) {
        try {
            HttpRange.toResourceRegions(HttpRange.parseRanges(range), resource);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Operation(summary = "Cancel a queued or running job", description = "Nothing the job did takes effect: "
            + "no file, no watermark move.")
    @ApiResponse(responseCode = "200", description = "The job, now cancelled")
    @ApiDocs.NotFound
    @ApiDocs.Conflict
    @DeleteMapping("/{jobId}")
    JobView cancel(@PathVariable UUID jobId, @Parameter(hidden = true) Acting acting) {
        visible(jobId, acting); // 404 for a job the caller may not see, before anything changes
        return jobs.cancel(jobId).orElseThrow(() -> new JobNotFoundException(jobId));
    }

    static final class JobNotFoundException extends RuntimeException {
        JobNotFoundException(UUID jobId) {
            super("No export job " + jobId);
        }
    }

    static final class JobNotCompletedException extends RuntimeException {
        JobNotCompletedException(JobView job) {
            super("Job " + job.jobId() + " is " + job.status() + "; its file is available once it is completed");
        }
    }

    static final class NoFileException extends RuntimeException {
        NoFileException(JobView job) {
            super("Job " + job.jobId() + " applies its export to Iceberg tables (" + String.join(", ",
                    job.files().stream().map(JobFile::filename).toList()) + "), not to files: read them through the "
                    + "catalog");
        }
    }

    static final class FileGoneException extends RuntimeException {
        FileGoneException(JobView job) {
            super("The file of job " + job.jobId() + " (" + job.outputFilename() + ") has been removed");
        }
    }

    static final class InvalidParameterException extends IllegalArgumentException {
        InvalidParameterException(String message) {
            super(message);
        }
    }
}
