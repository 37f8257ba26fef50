package com.cdcexport.export.job;

import java.time.Duration;
import java.util.List;

import io.swagger.v3.oas.annotations.media.Schema;

import com.cdcexport.config.Timestamps;
import com.cdcexport.export.model.TableName;

/** A job as the API shows it. Timestamps in the seed's JSON format; absent values are null. */
public record JobView(
        String jobId,
        String consumerId,
        String exportType,
        @Schema(description = "The files' format", example = "csv") String format,
        String status,
        @Schema(nullable = true, allowableValues = {"reader", "standby", "capture"},
                description = "While running: what the job waits for before it can read (a free reader connection, a "
                        + "standby to replay its watermarks, the log-based capture to pass its snapshot); null "
                        + "while it reads and once it has finished") String waitingFor,
        long rowsExported,
        @Schema(nullable = true) Long totalRows,
        @Schema(nullable = true) Double progressPercent,
        String outputFilename,
        List<String> tables,
        List<JobFile> files,
        @Schema(nullable = true, description = "The manifest beside the files (GET .../manifest); null for jobs "
                + "from before manifests and for exports to Iceberg tables") String manifestFilename,
        String createdAt,
        @Schema(nullable = true) String startedAt,
        @Schema(nullable = true) String finishedAt,
        @Schema(nullable = true) Double durationSeconds,
        int attempts,
        @Schema(nullable = true) String error) {

    static JobView of(ExportJob job, String waitingFor, long rows, Long total) {
        Double percent = total == null ? null
                : total == 0 ? 100.0 : Math.min(100.0, Math.round(rows * 1000.0 / total) / 10.0);
        Double duration = job.startedAt() == null || job.finishedAt() == null ? null
                : Duration.between(job.startedAt(), job.finishedAt()).toNanos() / 1e9;
        return new JobView(job.id().toString(), job.consumerId().value(), job.exportType().slug(),
                job.format().slug(), job.status().slug(),
                job.status() == JobStatus.RUNNING ? waitingFor : null, rows, total, percent, job.outputFilename(),
                job.tables().stream().map(TableName::qualified).toList(), job.files(), job.manifestFilename(),
                Timestamps.json(job.createdAt()),
                Timestamps.json(job.startedAt()), Timestamps.json(job.finishedAt()), duration, job.attempts(),
                job.error());
    }
}
