package com.cdcexport.export.job;

import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import com.cdcexport.export.destination.Destination;
import com.cdcexport.export.destination.ExportFileStore;
import com.cdcexport.export.destination.ExportFileStore.PartFile;

/**
 * Removes the files of an export attempt without ever touching what a later attempt of the same job wrote. An
 * export has one file per table and a manifest; each follows the rules below, under one lock of the job's row.
 *
 * <p>Attempt n writes {@code name.n.part} and publishes it as {@code name} (a hard link that fails if the name
 * exists), then commits "job completed by attempt n" and the watermark in one transaction. A runner may lose its
 * claim at any moment (cancelled, or taken for dead after missing heartbeats and the job queued again), keep
 * running for a while, and try to clean up after its failed commit. The rules:
 * <ul>
 * <li>{@code name.n.part} is attempt n's alone: anyone may remove it once attempt n is over.</li>
 * <li>{@code name} is removed only while the job's row is locked and says attempt n is still the latest and the
 * job has not completed ({@link JobTable#lockLatestUncommitted}). While that lock is held no attempt n+1 can be
 * claimed and no attempt can commit; attempt n+1 can only exist after the reaper queued the job again, which
 * requires n to be the latest attempt. So whatever is at {@code name} then comes from attempt n or an earlier
 * one, none of which can commit any more: it is garbage.</li>
 * </ul>
 * The interleavings this covers (A = attempt n, B = attempt n+1 on another instance):
 * <ol>
 * <li>A publishes, stalls past EXPORT_STALE_AFTER; B's reaper queues the job again and removes A's file (still
 * attempt n: allowed); B claims, publishes, commits. A wakes, its commit fails (attempt mismatch), and its
 * clean-up finds attempt n+1 in the row: it removes nothing. B's file and watermark stand.</li>
 * <li>As 1, but A wakes between B's publish and B's commit: A's clean-up waits for B's commit (B holds the row)
 * or sees attempt n+1: it removes nothing.</li>
 * <li>The reaper queued the job, but B claims it before the reaper's clean-up runs: the clean-up sees attempt
 * n+1 and leaves {@code name}. If A's file is still there, B's publish finds the name taken, removes the file
 * under its own fence (attempt n+1 is the latest) and publishes again.</li>
 * <li>A's commit failed for a reason of its own (watermark moved, cancelled, database error after which the
 * row says "running, attempt n"): A still is the latest attempt and removes its file.</li>
 * <li>A's commit reached the database but its acknowledgement was lost: the row says completed; nothing is
 * removed (the runner then reports the export as completed).</li>
 * </ol>
 */
@Component
public class JobFiles {

    private static final Logger log = LoggerFactory.getLogger(JobFiles.class);

    private final JobTable jobs;
    private final ExportFileStore files;
    private final TransactionTemplate transaction;

    JobFiles(JobTable jobs, ExportFileStore files, TransactionTemplate transaction) {
        this.jobs = jobs;
        this.files = files;
        this.transaction = transaction;
    }

    /**
     * Removes the file published under the job's name if {@code attempt} is the job's latest attempt and the job
     * has not completed; see the class comment for why that is safe.
     *
     * @return false when a later attempt owns the job or it completed: nothing was removed
     */
    public boolean discardPublished(ExportJob job, int attempt) {
        return fence(job, attempt).whileLatest(() -> job.storedNames().forEach(files::deletePublished));
    }

    /**
     * The fence a destination removes published outputs of {@code attempt} under: the job's row locked, the attempt
     * still its latest and not completed; see the class comment for why that is safe.
     */
    public Destination.Fence fence(ExportJob job, int attempt) {
        return removal -> Boolean.TRUE.equals(transaction.execute(status -> {
            if (!jobs.lockLatestUncommitted(job.id(), attempt)) {
                return false;
            }
            removal.run();
            return true;
        }));
    }

    /** Everything of an attempt that is over (its runner gone or fenced off), and nothing of a later one. */
    void discardAttempt(ExportJob job, int attempt) {
        job.storedNames().forEach(name -> files.deletePart(name, attempt));
        if (!discardPublished(job, attempt)) {
            log.info("Job {} was claimed again before the files of attempt {} were removed; its next attempt "
                    + "removes what is left", job.id(), attempt);
        }
    }

    /**
     * Start-up clean-up: temporary files of attempts that are not running. The files are listed before the jobs
     * are read, so a file of an attempt claimed meanwhile is never mistaken for a stray one.
     */
    void removeStrayParts() {
        List<PartFile> parts = files.partFiles();
        Map<String, Integer> running = jobs.runningAttempts();
        for (PartFile part : parts) {
            if (!Integer.valueOf(part.attempt()).equals(running.get(part.name()))) {
                files.deletePart(part.name(), part.attempt());
            }
        }
    }
}
