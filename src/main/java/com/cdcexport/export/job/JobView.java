package com.cdcexport.export.job;

import java.time.Duration;

import com.cdcexport.config.Timestamps;

/** A job as the API shows it. Timestamps in the seed's JSON format; absent values are null. */
public record JobView(
        String jobId,
        String consumerId,
        String exportType,
        String status,
        long rowsExported,
        Long totalRows,
        Double progressPercent,
        String outputFilename,
        String createdAt,
        String startedAt,
        String finishedAt,
        Double durationSeconds,
        int attempts,
        String error) {

    static JobView of(ExportJob job, long rows, Long total) {
        Double percent = total == null ? null
                : total == 0 ? 100.0 : Math.min(100.0, Math.round(rows * 1000.0 / total) / 10.0);
        Double duration = job.startedAt() == null || job.finishedAt() == null ? null
                : Duration.between(job.startedAt(), job.finishedAt()).toNanos() / 1e9;
        return new JobView(job.id().toString(), job.consumerId().value(), job.exportType().slug(),
                job.status().slug(), rows, total, percent, job.outputFilename(), Timestamps.json(job.createdAt()),
                Timestamps.json(job.startedAt()), Timestamps.json(job.finishedAt()), duration, job.attempts(),
                job.error());
    }
}
