package com.cdcexport.export.job;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

import com.cdcexport.export.ExportType;
import com.cdcexport.export.capture.CaptureProgress;
import com.cdcexport.export.capture.CaptureResult;
import com.cdcexport.export.capture.ChangeCapture;
import com.cdcexport.export.capture.Snapshot;
import com.cdcexport.export.capture.TableExport;
import com.cdcexport.export.capture.TableName;
import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.watermark.Watermark;
import com.cdcexport.export.file.ExportFileStore;
import com.cdcexport.export.file.ExportFileStore.PendingFile;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * Runs one claimed export: capture the rows into a temporary file, make it durable under its final name, then
 * commit job and watermark together. Any failure before the commit leaves no file and moves nothing.
 */
@Component
class ExportRunner {

    private static final Logger log = LoggerFactory.getLogger(ExportRunner.class);

    private final ExportJobRepository jobs;
    private final WatermarkService watermarks;
    private final ChangeCapture capture;
    private final ExportFileStore files;
    private final ExportCommitter committer;
    private final RunningJobs running;
    private final ExportMetrics metrics;
    private final TableAccessStore access;
    private final Clock clock;

    ExportRunner(ExportJobRepository jobs, WatermarkService watermarks, ChangeCapture capture, ExportFileStore files,
                 ExportCommitter committer, RunningJobs running, ExportMetrics metrics, TableAccessStore access,
                 Clock clock) {
        this.access = access;
        this.jobs = jobs;
        this.watermarks = watermarks;
        this.capture = capture;
        this.files = files;
        this.committer = committer;
        this.running = running;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** @param job a job this instance has just claimed (status running, {@code job.attempts()} its claim) */
    void run(ExportJob job) {
        CaptureProgress progress = running.start(job);
        try {
            execute(job, progress);
        } finally {
            running.finish(job);
        }
    }

    private void execute(ExportJob job, CaptureProgress progress) {
        long start = System.nanoTime();
        Map<TableName, Optional<Snapshot>> previous = new LinkedHashMap<>();
        List<TableExport> tables = new ArrayList<>();
        try {
            // Safe to read outside the capture transaction: only this job may move these watermarks now, and the
            // commit's compare-and-set re-checks them.
            for (TableName table : job.tables()) {
                Optional<Snapshot> from = watermarks.find(job.consumerId(), table).map(Watermark::snapshot);
                previous.put(table, from);
                tables.add(new TableExport(table, job.exportType() == ExportType.FULL ? Optional.empty() : from,
                        access.accessOf(job.consumerId(), table)));
            }
        } catch (RuntimeException e) {
            fail(job, e, progress, start);
            return;
        }
        ExportEvents.started(job);
        try {
            CaptureResult result = captureAndPublish(job, tables, progress);
            commitOrDiscard(job, previous, result);
            double seconds = (System.nanoTime() - start) / 1e9;
            ExportEvents.completed(job, result.rows(), seconds);
            metrics.completed(job.exportType(), result.rows(), seconds);
        } catch (Exception e) {
            fail(job, e, progress, start);
        }
    }

    /** Every table's file written under its temporary name, then all of them made durable under their names. */
    private CaptureResult captureAndPublish(ExportJob job, List<TableExport> tables, CaptureProgress progress)
            throws Exception {
        Map<String, String> names = new LinkedHashMap<>();
        job.files().forEach(f -> names.put(f.table(), f.filename()));
        List<PendingFile> pending = new ArrayList<>();
        try {
            CaptureResult result = capture.export(job.exportType(), tables, table -> {
                PendingFile file = files.create(names.get(table.qualified()), job.attempts());
                pending.add(file);
                return file.stream();
            }, progress);
            for (PendingFile file : pending) {
                file.publish();
            }
            return result;
        } finally {
            for (PendingFile file : pending) {
                file.close();
            }
        }
    }

    private void commitOrDiscard(ExportJob job, Map<TableName, Optional<Snapshot>> previous, CaptureResult result) {
        try {
            committer.commit(job, previous, result);
        } catch (RuntimeException e) {
            if (!committedDespite(job)) {
                job.files().forEach(f -> files.delete(f.filename()));
            }
            throw e;
        }
    }

    /**
     * A commit can succeed on the server while its acknowledgement is lost. Deleting the file then would lose
     * data, so when the outcome cannot be read the file stays and the stale-job reaper decides later from the
     * database, which is authoritative.
     */
    private boolean committedDespite(ExportJob job) {
        try {
            return jobs.findById(job.getId()).map(j -> j.status() == JobStatus.COMPLETED).orElse(false);
        } catch (RuntimeException unknown) {
            log.warn("Cannot tell whether job {} committed ({}); leaving its file to the reaper", job.getId(),
                    unknown.toString());
            return true;
        }
    }

    private void fail(ExportJob job, Exception e, CaptureProgress progress, long start) {
        String error = progress.isCancelled() ? "Cancelled on request" : describe(job, e);
        try {
            jobs.markFailed(job.getId(), job.attempts(), error, clock.instant());
        } catch (RuntimeException markFailed) {
            log.warn("Could not record failure of job {} ({}); the reaper will", job.getId(), markFailed.toString());
        }
        if (progress.isCancelled()) {
            ExportEvents.cancelled(job);
        } else {
            ExportEvents.failed(job, error);
        }
        metrics.failed(job.exportType(), progress.isCancelled() ? "cancelled" : "failed",
                (System.nanoTime() - start) / 1e9);
        log.debug("Export {} failed", job.getId(), e);
    }

    private String describe(ExportJob job, Exception e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        if (e instanceof IOException) {
            // File-system messages are terse ("No space left on device", a bare path): say what was being done.
            return "Cannot write export file " + job.outputFilename() + " in " + files.directory() + ": "
                    + e.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message);
        }
        return message.isEmpty() ? e.getClass().getSimpleName() : message;
    }
}
