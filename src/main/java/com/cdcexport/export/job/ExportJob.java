package com.cdcexport.export.job;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.ExportType;

/**
 * One export request and its outcome: a row of export_jobs as read at one moment. State changes go through
 * {@link JobTable}'s conditional updates, so two parties (a runner and a reaper) can never both win a transition.
 *
 * @param attempts how many times the job was claimed by a runner; fences every transition of a running job
 */
public record ExportJob(
        UUID id,
        ConsumerId consumerId,
        ExportType exportType,
        JobStatus status,
        String outputFilename,
        long rowsExported,
        Long totalRows,
        int attempts,
        String instanceId,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        String error) {

    static ExportJob queued(ExportType type, ConsumerId consumer, String outputFilename, String instanceId,
                            Instant now) {
        // The database keeps microseconds; the job this returns must equal the row it becomes.
        return new ExportJob(UUID.randomUUID(), consumer, type, JobStatus.QUEUED, outputFilename, 0, null, 0,
                instanceId, now.truncatedTo(ChronoUnit.MICROS), null, null, null);
    }
}
