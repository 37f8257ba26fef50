package com.cdcexport.export.pipeline;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.stereotype.Component;

import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.destination.ExportFileStore;
import com.cdcexport.export.destination.ExportFileStore.PendingFile;
import com.cdcexport.export.job.ClaimedJobRunner;
import com.cdcexport.export.job.ExportEvents;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.ExportMetrics;
import com.cdcexport.export.job.JobFailure;
import com.cdcexport.export.job.JobFiles;
import com.cdcexport.export.job.JobStatus;
import com.cdcexport.export.job.JobTable;
import com.cdcexport.export.job.RunningJobs;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;
import com.cdcexport.export.read.HeldRowsScope;
import com.cdcexport.export.read.SnapshotReader;
import com.cdcexport.export.read.TableExport;
import com.cdcexport.export.watermark.HeldRows;
import com.cdcexport.export.watermark.Watermark;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * Runs one claimed export: read the consumer's previous watermark, capture the rows into a pending file, publish
 * it under its final name, then commit job and watermark in one transaction. Any failure before the commit
 * leaves no file of this attempt and moves nothing. The bookkeeping around it (recording a failure, reading
 * whether a commit went through) is retried through a brief database outage, so a job ends visibly within
 * seconds of the database coming back instead of waiting for the stale-job reaper.
 */
@Component
public class ExportPipeline implements ClaimedJobRunner {

    private static final Logger log = LoggerFactory.getLogger(ExportPipeline.class);

    private final JobTable jobs;
    private final JobFiles jobFiles;
    private final WatermarkService watermarks;
    private final SnapshotReader capture;
    private final ExportFileStore files;
    private final ExportCommitter committer;
    private final RunningJobs running;
    private final ExportMetrics metrics;
    private final RetryTemplate bookkeeping;
    private final TableAccessStore access;
    private final HeldRows held;
    private final Clock clock;
    /** The service's version, for manifests: from the build's build-info, else the jar's manifest. */
    private final String version;

    ExportPipeline(JobTable jobs, JobFiles jobFiles, WatermarkService watermarks, SnapshotReader capture,
                 ExportFileStore files, ExportCommitter committer, RunningJobs running, ExportMetrics metrics,
                 RetryTemplate bookkeepingRetry, TableAccessStore access, HeldRows held, Clock clock,
                 ObjectProvider<BuildProperties> build) {
        BuildProperties info = build.getIfAvailable();
        this.version = info != null && info.getVersion() != null ? info.getVersion()
                : Optional.ofNullable(ExportPipeline.class.getPackage().getImplementationVersion()).orElse("unknown");
        this.access = access;
        this.held = held;
        this.jobs = jobs;
        this.jobFiles = jobFiles;
        this.watermarks = watermarks;
        this.capture = capture;
        this.files = files;
        this.committer = committer;
        this.running = running;
        this.metrics = metrics;
        this.bookkeeping = bookkeepingRetry;
        this.clock = clock;
    }

    /** @param job a job this instance has just claimed (status running, {@code job.attempts()} its claim) */
    @Override
    public void run(ExportJob job) {
        ExportProgress progress = running.start(job);
        try {
            execute(job, progress);
        } finally {
            running.finish(job);
        }
    }

    private void execute(ExportJob job, ExportProgress progress) {
        long start = System.nanoTime();
        Map<TableName, Optional<Snapshot>> previous;
        List<TableExport> tables = new ArrayList<>();
        try {
            previous = retried(() -> previousWatermarks(job));
            for (TableName table : job.tables()) {
                tables.add(new TableExport(table, job.exportType() == ExportType.FULL ? Optional.empty()
                        : previous.get(table), access.accessOf(job.consumerId(), table)));
            }
        } catch (RuntimeException e) {
            fail(job, e, progress, start);
            return;
        }
        ExportEvents.started(job);
        try {
            ReadResult result = captureAndPublish(job, tables, previous, progress);
            commitOrDiscard(job, tables, previous, result);
            StepPause.after(StepPause.Step.COMMITTED, job, progress);
            double seconds = (System.nanoTime() - start) / 1e9;
            ExportEvents.completed(job, result.rows(), seconds);
            metrics.completed(job.exportType(), result.rows(), seconds);
        } catch (Exception | Error e) {
            // An Error (a class missing from a broken deployment, the heap exhausted) fails this job visibly
            // instead of killing the worker and leaving the job to the reaper.
            fail(job, e, progress, start);
        }
    }

    /**
     * Each table's watermark. Safe to read outside the capture transaction: only this job may move them now, and
     * the commit's compare-and-set re-checks each.
     */
    private Map<TableName, Optional<Snapshot>> previousWatermarks(ExportJob job) {
        Map<TableName, Optional<Snapshot>> previous = new LinkedHashMap<>();
        for (TableName table : job.tables()) {
            previous.put(table, watermarks.find(job.consumerId(), table).map(Watermark::snapshot));
        }
        return previous;
    }

    /**
     * Writes this attempt's pending file of every table, publishes them all, then the manifest listing them; when
     * this throws, nothing of this attempt is left (published files of it are removed under the job's fence).
     */
    private ReadResult captureAndPublish(ExportJob job, List<TableExport> tables,
                                            Map<TableName, Optional<Snapshot>> previous, ExportProgress progress)
            throws IOException, SQLException {
        Map<String, String> names = new LinkedHashMap<>();
        job.files().forEach(f -> names.put(f.table(), f.filename()));
        List<PendingFile> pending = new ArrayList<>();
        List<DigestingStream> digests = new ArrayList<>();
        List<String> published = new ArrayList<>();
        try {
            ReadResult result = capture.export(job.exportType(), job.format(), tables,
                    new HeldRowsScope(job.consumerId().value(), job.id(), job.attempts()), table -> {
                PendingFile file = files.create(names.get(table.qualified()), job.attempts());
                pending.add(file);
                DigestingStream digest = new DigestingStream(file.stream());
                digests.add(digest);
                return digest;
            }, progress);
            StepPause.after(StepPause.Step.WRITTEN, job, progress);
            for (int i = 0; i < pending.size(); i++) {
                String name = job.files().get(i).filename();
                publish(job, pending.get(i), name);
                published.add(name);
            }
            StepPause.after(StepPause.Step.PUBLISHED, job, progress);
            if (job.manifestFilename() != null) {
                List<Manifest.Stored> stored = digests.stream()
                        .map(d -> new Manifest.Stored(d.bytes(), d.sha256())).toList();
                byte[] manifest = Manifest.of(job, version, previous, result, stored, clock.instant()).json();
                PendingFile file = files.create(job.manifestFilename(), job.attempts());
                pending.add(file);
                file.stream().write(manifest);
                publish(job, file, job.manifestFilename());
                published.add(job.manifestFilename());
                StepPause.after(StepPause.Step.MANIFEST, job, progress);
            }
            return result;
        } catch (IOException | SQLException | RuntimeException | Error e) {
            if (!published.isEmpty()) {
                discardPublished(job, published);
            }
            throw e;
        } finally {
            for (PendingFile file : pending) {
                file.close();
            }
        }
    }

    /** A file already under the name is an earlier attempt's that never committed (see {@link JobFiles}). */
    private void publish(ExportJob job, PendingFile file, String name) throws IOException {
        try {
            file.publish();
        } catch (FileAlreadyExistsException taken) {
            if (!retried(() -> jobFiles.discardPublished(job, job.attempts(), List.of(name)))) {
                throw taken;
            }
            log.info("Job {} (attempt {}): removed a file an earlier attempt published and never committed",
                    job.id(), job.attempts());
            file.publish();
        }
    }

    private void commitOrDiscard(ExportJob job, List<TableExport> tables, Map<TableName, Optional<Snapshot>> previous,
                                 ReadResult result) {
        try {
            committer.commit(job, tables, previous, result);
        } catch (RuntimeException e) {
            switch (outcomeAfter(job, e)) {
                case COMMITTED -> {
                    return;
                }
                case NOT_COMMITTED -> discardPublished(job, job.storedNames());
                case UNKNOWN -> log.warn("Cannot tell whether job {} committed; leaving its file to the reaper",
                        job.id());
            }
            throw e;
        }
    }

    private enum CommitOutcome { COMMITTED, NOT_COMMITTED, UNKNOWN }

    /**
     * A commit can succeed on the server while its acknowledgement is lost: then the export is complete. When
     * the outcome cannot be read, the file stays and the stale-job reaper decides later from the database, which
     * is authoritative.
     */
    private CommitOutcome outcomeAfter(ExportJob job, RuntimeException commitFailure) {
        Optional<ExportJob> row;
        try {
            row = retried(() -> jobs.find(job.id()));
        } catch (RuntimeException unknown) {
            return CommitOutcome.UNKNOWN;
        }
        if (row.filter(j -> j.status() == JobStatus.COMPLETED && j.attempts() == job.attempts()).isPresent()) {
            log.warn("Job {}: the commit reported {} but had gone through", job.id(), commitFailure.toString());
            return CommitOutcome.COMMITTED;
        }
        return CommitOutcome.NOT_COMMITTED;
    }

    private void discardPublished(ExportJob job, List<String> names) {
        try {
            if (!retried(() -> jobFiles.discardPublished(job, job.attempts(), names))) {
                log.info("Job {} was taken over by a later attempt; its files are that attempt's", job.id());
            }
        } catch (RuntimeException e) {
            log.warn("Could not remove the file of job {} ({}); the reaper will", job.id(), e.toString());
        }
    }

    private void fail(ExportJob job, Throwable e, ExportProgress progress, long start) {
        JobFailure error = progress.isCancelled() ? new JobFailure("Cancelled on request", null)
                : progress.isClaimLost() ? new JobFailure("Stopped: the job is no longer this runner's (it missed its "
                        + "heartbeats and the job was queued again)", null) : JobFailure.of(job, e, files.location());
        try {
            retried(() -> jobs.fail(job, error, clock.instant()));
        } catch (RuntimeException markFailed) {
            log.warn("Could not record failure of job {} ({}); the reaper will", job.id(), markFailed.toString());
        }
        if (progress.isCancelled()) {
            ExportEvents.cancelled(job);
        } else {
            ExportEvents.failed(job, error);
        }
        metrics.failed(job.exportType(), progress.isCancelled() ? "cancelled" : "failed",
                (System.nanoTime() - start) / 1e9);
        if (e instanceof Error) {
            log.error("Export {} failed", job.id(), e);
        } else {
            log.debug("Export {} failed", job.id(), e);
        }
        try {
            held.discardAbandoned();
        } catch (RuntimeException notNow) {
            log.debug("Could not remove what abandoned attempts staged for held rows ({}); the next failure will",
                    notNow.toString());
        }
    }

    private <T> T retried(Supplier<T> statement) {
        return bookkeeping.invoke(statement);
    }
}
