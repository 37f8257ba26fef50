package com.cdcexport.export.job;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;

/**
 * One export request and its outcome: a row of export_jobs as read at one moment. State changes go through
 * {@link JobTable}'s conditional updates, so two parties (a runner and a reaper) can never both win a transition.
 *
 * @param files    one file per table the export reads (in one snapshot), the first being {@code outputFilename};
 *                 rows filled in when the export completes
 * @param attempts how many times the job was claimed by a runner; fences every transition of a running job
 * @param manifestFilename the manifest written beside the files; null for jobs from before manifests existed
 * @param waitingFor what the running job waited for at its last heartbeat ({@code ExportProgress.Wait}'s slug), or
 *                   null
 */
public record ExportJob(
        UUID id,
        ConsumerId consumerId,
        ExportType exportType,
        ExportFormat format,
        JobStatus status,
        String outputFilename,
        List<JobFile> files,
        String manifestFilename,
        long rowsExported,
        Long totalRows,
        int attempts,
        String instanceId,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        String error,
        String waitingFor) {

    public ExportJob {
        files = List.copyOf(files);
    }

    static ExportJob queued(ExportType type, ExportFormat format, ConsumerId consumer, List<JobFile> files,
                            String manifestFilename, String instanceId, Instant now) {
        // The database keeps microseconds; the job this returns must equal the row it becomes.
        return new ExportJob(UUID.randomUUID(), consumer, type, format, JobStatus.QUEUED, files.get(0).filename(),
                files, manifestFilename, 0, null, 0, instanceId, now.truncatedTo(ChronoUnit.MICROS), null, null, null, null);
    }

    /** The tables the export reads, in the order of its files. */
    public List<TableName> tables() {
        return files.stream().map(f -> TableName.parse(f.table()).orElseThrow()).toList();
    }

    public List<String> filenames() {
        return files.stream().map(JobFile::filename).toList();
    }

    /** Every file the export stores: its data files, then its manifest. Removing an export removes all of them. */
    public List<String> storedNames() {
        List<String> names = new java.util.ArrayList<>(filenames());
        if (manifestFilename != null) {
            names.add(manifestFilename);
        }
        return names;
    }
}
