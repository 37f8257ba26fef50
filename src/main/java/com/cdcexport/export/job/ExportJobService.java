package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.stereotype.Service;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.destination.ExportFileStore;
import com.cdcexport.export.destination.ExportFileStore.ExportNames;
import com.cdcexport.export.destination.iceberg.IcebergDestination;
import com.cdcexport.export.format.ConsumerFormats;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;

/** Accepts, describes and cancels export jobs. Running them is the dispatcher's. */
@Service
public class ExportJobService {

    private final JobTable jobs;
    private final ExportFileStore files;
    private final IcebergDestination iceberg;
    private final JobDispatcher dispatcher;
    private final RunningJobs running;
    private final InstanceIdentity instance;
    private final ConsumerFormats formats;
    private final ExportRateLimit rateLimit;
    private final int queueCapacity;
    private final Clock clock;

    ExportJobService(JobTable jobs, ExportFileStore files, IcebergDestination iceberg, JobDispatcher dispatcher,
                     RunningJobs running, InstanceIdentity instance, ConsumerFormats formats,
                     ExportRateLimit rateLimit, CdcProperties properties, Clock clock) {
        this.iceberg = iceberg;
        this.formats = formats;
        this.rateLimit = rateLimit;
        this.jobs = jobs;
        this.files = files;
        this.dispatcher = dispatcher;
        this.running = running;
        this.instance = instance;
        this.queueCapacity = properties.jobs().queueCapacity();
        this.clock = clock;
    }

    /**
     * Records a queued job (the 202 answers only once it is committed, so it survives this instance).
     *
     * @throws ConsumerBusyException when the consumer already has a queued or running export (on any instance)
     * @param format the requested format; empty for the consumer's default
     * @throws QueueFullException    when the shared queue holds EXPORT_QUEUE_CAPACITY jobs already
     */
    public ExportJob submit(ExportType type, Optional<ExportFormat> format, ConsumerId consumer,
                            List<TableName> tables) {
        ExportFormat chosen = format.orElseGet(() -> formats.defaultOf(consumer));
        while (true) {
            Instant now = clock.instant();
            List<JobFile> planned = new ArrayList<>();
            String manifest = null;
            if (chosen.isTable()) {
                // No files: each table's output is the consumer's Iceberg table, named where the file's name goes.
                tables.forEach(t -> planned.add(new JobFile(t.qualified(), iceberg.tableOf(consumer, t), null)));
            } else {
                ExportNames names = files.allocateNames(type, chosen, consumer, tables, now, jobs::nameTaken);
                for (int i = 0; i < tables.size(); i++) {
                    planned.add(new JobFile(tables.get(i).qualified(), names.files().get(i), null));
                }
                manifest = names.manifest();
            }
            ExportJob job = ExportJob.queued(type, chosen, consumer, planned, manifest, instance.value(), now);
            switch (jobs.enqueue(job, queueCapacity)) {
                case ACCEPTED -> {
                    dispatcher.wakeUp();
                    return job;
                }
                case QUEUE_FULL -> throw new QueueFullException();
                case NOT_UNIQUE -> {
                    Optional<ExportJob> active = jobs.activeJobOf(consumer);
                    if (active.isPresent()) {
                        throw new ConsumerBusyException(consumer, active.get().id());
                    }
                    // Another instance took the same file name a moment ago, or the consumer's active export
                    // finished between our insert and the lookup: try again.
                }
            }
        }
    }

    /**
     * As {@link #submit}, for an export the consumer asks for itself (through the API or its console session): it
     * counts against the consumer's EXPORTS_PER_HOUR. One that is not accepted (409, a full queue) does not count.
     * Scheduled exports and those the admin starts do not count either.
     *
     * @throws ExportRateLimitedException when the consumer has spent its allowance
     */
    public ExportJob request(ExportType type, Optional<ExportFormat> format, ConsumerId consumer,
                             List<TableName> tables) {
        rateLimit.take(consumer);
        try {
            return submit(type, format, consumer, tables);
        } catch (RuntimeException notAccepted) {
            rateLimit.giveBack(consumer);
            throw notAccepted;
        }
    }

    public Optional<JobView> find(UUID jobId) {
        return jobs.find(jobId).map(this::view);
    }

    /**
     * Why a failed job failed, in the detail its consumer does not see (the database's or the file system's own
     * message); for the admin only.
     */
    public Optional<String> errorDetail(UUID jobId) {
        return jobs.errorDetail(jobId);
    }

    /**
     * Cancels a queued or running job, on whichever instance runs it; nothing it did takes effect.
     *
     * @throws JobFinishedException when the job has already finished
     */
    public Optional<JobView> cancel(UUID jobId) {
        Optional<ExportJob> job = jobs.find(jobId);
        if (job.isEmpty()) {
            return Optional.empty();
        }
        if (!jobs.cancel(jobId, clock.instant())) {
            throw new JobFinishedException(jobId, jobs.find(jobId).map(ExportJob::status).orElseThrow());
        }
        // Running here: stop it now. Running elsewhere: that instance stops it at its next heartbeat.
        running.progress(jobId).ifPresent(ExportProgress::cancel);
        return find(jobId);
    }

    /**
     * Jobs newest first, optionally of one consumer and one status, {@code limit} at a time. The cursor is the
     * position after the last job of the previous page (keyset pagination: stable while new jobs arrive).
     */
    public JobPage list(Optional<ConsumerId> consumer, Optional<JobStatus> status, int limit, Optional<JobCursor> after) {
        return list(consumer, status, Optional.empty(), limit, after);
    }

    /** As {@link #list(Optional, Optional, int, Optional)}, optionally of one export type too (the console's filter). */
    public JobPage list(Optional<ConsumerId> consumer, Optional<JobStatus> status, Optional<ExportType> type,
                        int limit, Optional<JobCursor> after) {
        List<ExportJob> page = jobs.page(consumer, status, type, after, limit + 1);
        List<ExportJob> shown = page.subList(0, Math.min(limit, page.size()));
        String next = page.size() > limit ? JobCursor.after(shown.get(shown.size() - 1)).encode() : null;
        return new JobPage(shown.stream().map(this::view).toList(), next);
    }

    /** The job as the API shows it, with live progress when this instance runs it. */
    public JobView view(ExportJob job) {
        Optional<ExportProgress> live = job.status() == JobStatus.RUNNING ? running.progress(job.id())
                : Optional.empty();
        long rows = live.map(ExportProgress::rows).orElse(job.rowsExported());
        Long total = live.map(ExportProgress::totalRows).filter(t -> t >= 0).orElse(job.totalRows());
        String waitingFor = live.isPresent()
                ? live.get().waitingFor().map(ExportProgress.Wait::slug).orElse(null) : job.waitingFor();
        return JobView.of(job, waitingFor, rows, total);
    }

    public static final class ConsumerBusyException extends RuntimeException {
        private final UUID activeJobId;

        ConsumerBusyException(ConsumerId consumer, UUID activeJobId) {
            super("Consumer " + consumer + " already has an export in progress (job " + activeJobId
                    + "); retry when it has finished");
            this.activeJobId = activeJobId;
        }

        public UUID activeJobId() {
            return activeJobId;
        }
    }

    public static final class QueueFullException extends RuntimeException {
        QueueFullException() {
            super("Too many exports are queued; retry later");
        }
    }

    public static final class ExportRateLimitedException extends RuntimeException {
        private final long retryAfterSeconds;

        ExportRateLimitedException(String message, long retryAfterSeconds) {
            super(message);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }

    public static final class JobFinishedException extends RuntimeException {
        JobFinishedException(UUID jobId, JobStatus status) {
            super("Job " + jobId + " has already finished (" + status.slug() + ")");
        }
    }
}
