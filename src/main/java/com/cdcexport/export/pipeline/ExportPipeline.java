package com.cdcexport.export.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.stereotype.Component;

import com.cdcexport.export.destination.Destination;
import com.cdcexport.export.format.EncodedOutput;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.job.ClaimedJobRunner;
import com.cdcexport.export.job.ExportEvents;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.ExportMetrics;
import com.cdcexport.export.job.JobFailure;
import com.cdcexport.export.job.JobFiles;
import com.cdcexport.export.job.JobStatus;
import com.cdcexport.export.job.JobTable;
import com.cdcexport.export.job.RunningJobs;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.ReadResult.TableResult;
import com.cdcexport.export.read.ReadStart.StandbyBehindException;
import com.cdcexport.export.read.SnapshotReader;
import com.cdcexport.export.read.StandbyReadLostException;
import com.cdcexport.export.read.SnapshotReader.SnapshotRead;
import com.cdcexport.export.read.SnapshotReader.TableRead;
import com.cdcexport.export.watermark.HeldRows;

/**
 * The path of one claimed export, down the stack and never back up: plan it ({@link ExportPlanner}), read each
 * table in one snapshot ({@link SnapshotReader}), encode it in the plan's format, write it to the destination
 * while counting and hashing it, publish, write the manifest, then commit job and watermarks in one transaction
 * ({@link ExportCommitter}). Any failure before the commit leaves no output of this attempt and moves nothing. The
 * bookkeeping around it (recording a failure, reading whether a commit went through) is retried through a brief
 * database outage, so a job ends visibly within seconds of the database coming back instead of waiting for the
 * stale-job reaper. See docs/architecture.md.
 */
@Component
public class ExportPipeline implements ClaimedJobRunner {

    private static final Logger log = LoggerFactory.getLogger(ExportPipeline.class);
    /** Reads of one claim: a read lost on a standby (recovery conflict, standby gone) is started again twice. */
    private static final int READS_PER_ATTEMPT = 3;
    /** What a consumer reads when no standby caught up: which standby and how far behind is the admin's detail. */
    static final String STANDBY_BEHIND = "The database copy exports are read from had not caught up with this "
            + "export's moment in time: nothing was exported; export again later";

    private final ExportPlanner planner;
    private final SnapshotReader reader;
    private final List<Destination> destinations;
    private final ExportCommitter committer;
    private final JobTable jobs;
    private final JobFiles jobFiles;
    private final RunningJobs running;
    private final ExportMetrics metrics;
    private final RetryTemplate bookkeeping;
    private final HeldRows held;
    private final Clock clock;
    /** The service's version, for manifests: from the build's build-info, else the jar's manifest. */
    private final String version;

    ExportPipeline(ExportPlanner planner, SnapshotReader reader, List<Destination> destinations,
                   ExportCommitter committer,
                   JobTable jobs, JobFiles jobFiles, RunningJobs running, ExportMetrics metrics,
                   RetryTemplate bookkeepingRetry, HeldRows held, Clock clock, ObjectProvider<BuildProperties> build) {
        BuildProperties info = build.getIfAvailable();
        this.version = info != null && info.getVersion() != null ? info.getVersion()
                : Optional.ofNullable(ExportPipeline.class.getPackage().getImplementationVersion()).orElse("unknown");
        this.planner = planner;
        this.reader = reader;
        this.destinations = List.copyOf(destinations);
        this.committer = committer;
        this.jobs = jobs;
        this.jobFiles = jobFiles;
        this.running = running;
        this.metrics = metrics;
        this.bookkeeping = bookkeepingRetry;
        this.held = held;
        this.clock = clock;
    }

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
        ExportPlan plan;
        try {
            plan = retried(() -> planner.plan(job));
        } catch (RuntimeException e) {
            fail(job, e, progress, start);
            return;
        }
        ExportEvents.started(job);
        try {
            Set<String> lostOn = new HashSet<>();
            for (int read = 1; ; read++) {
                Destination.Attempt attempt = destinationOf(plan).begin(plan, jobFiles.fence(job, plan.attempt()));
                ReadResult result;
                try {
                    result = writeAndPublish(job, plan, attempt, progress, lostOn);
                } catch (StandbyReadLostException lost) {
                    // Nothing of this read was published: read again, in a new snapshot, elsewhere if possible.
                    if (read == READS_PER_ATTEMPT || progress.stopping()) {
                        throw lost;
                    }
                    lostOn.add(lost.standby());
                    metrics.readRestarted(lost.standby());
                    log.info("Job {}: its read on {} was lost ({}); reading again", job.id(), lost.standby(),
                            lost.getMessage());
                    continue;
                }
                commitOrDiscard(job, plan, attempt, result);
                StepPause.after(StepPause.Step.COMMITTED, job, progress);
                double seconds = (System.nanoTime() - start) / 1e9;
                ExportEvents.completed(job, result.rows(), seconds);
                metrics.completed(job.exportType(), result.rows(), seconds, result.readFrom());
                return;
            }
        } catch (Exception | Error e) {
            // An Error (a class missing from a broken deployment, the heap exhausted) fails this job visibly
            // instead of killing the worker and leaving the job to the reaper.
            fail(job, e, progress, start);
        }
    }

    /**
     * Reads every table into its output, publishes them all, then the manifest listing them; when this throws,
     * nothing of this attempt is left (what it published is removed under the job's fence).
     */
    private ReadResult writeAndPublish(ExportJob job, ExportPlan plan, Destination.Attempt attempt,
                                       ExportProgress progress, Set<String> lostOn) throws IOException, SQLException {
        try (attempt) {
            try {
                List<Manifest.Stored> stored = new ArrayList<>();
                ReadResult result;
                try (SnapshotRead read = reader.open(plan, progress, lostOn)) {
                    for (TableRead table : read.tables()) {
                        stored.add(write(plan, table, attempt.open(table.plan(), table.columns(),
                                table.keyColumns())));
                    }
                    result = read.finish();
                }
                StepPause.after(StepPause.Step.WRITTEN, job, progress);
                attempt.publish();
                StepPause.after(StepPause.Step.PUBLISHED, job, progress);
                if (plan.manifestName().isPresent()) {
                    attempt.publishManifest(Manifest.of(plan, version, result, stored, clock.instant()).json());
                    StepPause.after(StepPause.Step.MANIFEST, job, progress);
                }
                return result;
            } catch (IOException | SQLException | RuntimeException | Error e) {
                discardPublished(job, attempt);
                throw e;
            }
        }
    }

    /** One table: COPY's output through the format's encoder, counted and hashed on its way to the destination. */
    private static Manifest.Stored write(ExportPlan plan, TableRead table, OutputStream output)
            throws IOException, SQLException {
        DigestingStream digest = new DigestingStream(output);
        TableResult result;
        try (EncodedOutput encoded = plan.format().open(digest, table.columns())) {
            result = table.copyTo(encoded);
            encoded.finish();
        }
        return new Manifest.Stored(result, digest.bytes(), digest.sha256());
    }

    private void commitOrDiscard(ExportJob job, ExportPlan plan, Destination.Attempt attempt, ReadResult result) {
        try {
            committer.commit(job, plan, result, attempt);
        } catch (RuntimeException e) {
            switch (outcomeAfter(job, e)) {
                case COMMITTED -> {
                    attempt.committed();
                    return;
                }
                case NOT_COMMITTED -> discardPublished(job, attempt);
                case UNKNOWN -> log.warn("Cannot tell whether job {} committed; leaving its file to the reaper",
                        job.id());
            }
            throw e;
        }
        attempt.committed();
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

    private void discardPublished(ExportJob job, Destination.Attempt attempt) {
        try {
            if (!retried(attempt::discardPublished)) {
                log.info("Job {} was taken over by a later attempt; its files are that attempt's", job.id());
            }
        } catch (RuntimeException e) {
            log.warn("Could not remove the file of job {} ({}); the reaper will", job.id(), e.toString());
        }
    }

    private void fail(ExportJob job, Throwable e, ExportProgress progress, long start) {
        JobFailure error = progress.isCancelled() ? new JobFailure("Cancelled on request", null)
                : progress.isClaimLost() ? new JobFailure("Stopped: the job is no longer this runner's (it missed its "
                        + "heartbeats and the job was queued again)", null)
                : e instanceof StandbyBehindException behind ? new JobFailure(STANDBY_BEHIND, behind.getMessage())
                : JobFailure.of(job, e, destinationOf(job.format()).location());
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

    private Destination destinationOf(ExportPlan plan) {
        return destinationOf(plan.format());
    }

    private Destination destinationOf(ExportFormat format) {
        return destinations.stream().filter(d -> d.writes(format)).findFirst()
                .orElseThrow(() -> new IllegalStateException("No destination writes " + format.slug()));
    }

    private <T> T retried(Supplier<T> statement) {
        return bookkeeping.invoke(statement);
    }
}
