package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.persistence.criteria.Predicate;
import java.util.UUID;

import org.postgresql.util.PSQLException;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.domain.PageRequest;
import org.springframework.data.domain.Sort;
import org.springframework.data.jpa.domain.Specification;
import org.springframework.stereotype.Service;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.ExportType;
import com.cdcexport.export.capture.CaptureProgress;
import com.cdcexport.export.capture.TableName;
import com.cdcexport.export.file.ExportFileStore;

/** Accepts, describes and cancels export jobs. Running them is the dispatcher's. */
@Service
public class ExportJobService {

    private static final String ONE_ACTIVE_PER_CONSUMER = "export_jobs_one_active_per_consumer";
    private static final String OUTPUT_FILENAME_TAKEN = "export_jobs_output_filename_key";

    private final ExportJobRepository jobs;
    private final ExportFileStore files;
    private final JobDispatcher dispatcher;
    private final RunningJobs running;
    private final InstanceIdentity instance;
    private final int queueCapacity;
    private final Clock clock;

    ExportJobService(ExportJobRepository jobs, ExportFileStore files, JobDispatcher dispatcher, RunningJobs running,
                     InstanceIdentity instance, CdcProperties properties, Clock clock) {
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
     * @throws QueueFullException    when the shared queue holds EXPORT_QUEUE_CAPACITY jobs already
     */
    public ExportJob submit(ExportType type, ConsumerId consumer, List<TableName> tables) {
        if (jobs.countByStatus(JobStatus.QUEUED) >= queueCapacity) {
            throw new QueueFullException();
        }
        ExportJob job = record(type, consumer, tables);
        dispatcher.wakeUp();
        return job;
    }

    public Optional<JobView> find(UUID jobId) {
        return jobs.findById(jobId).map(this::view);
    }

    /**
     * Cancels a queued or running job, on whichever instance runs it; nothing it did takes effect.
     *
     * @throws JobFinishedException when the job has already finished
     */
    public Optional<JobView> cancel(UUID jobId) {
        Optional<ExportJob> job = jobs.findById(jobId);
        if (job.isEmpty()) {
            return Optional.empty();
        }
        if (jobs.cancel(jobId, clock.instant()) != 1) {
            throw new JobFinishedException(jobId, jobs.findById(jobId).map(ExportJob::status).orElseThrow());
        }
        // Running here: stop it now. Running elsewhere: that instance stops it at its next heartbeat.
        running.progress(jobId).ifPresent(CaptureProgress::cancel);
        return find(jobId);
    }

    /**
     * Jobs newest first, optionally of one consumer and one status, {@code limit} at a time. The cursor is the
     * position after the last job of the previous page (keyset pagination: stable while new jobs arrive).
     */
    public JobPage list(Optional<ConsumerId> consumer, Optional<JobStatus> status, int limit, Optional<JobCursor> after) {
        Specification<ExportJob> filter = (root, query, cb) -> {
            List<Predicate> conditions = new ArrayList<>();
            consumer.ifPresent(c -> conditions.add(cb.equal(root.get("consumerId"), c.value())));
            status.ifPresent(s -> conditions.add(cb.equal(root.get("status"), s)));
            after.ifPresent(c -> conditions.add(cb.or(
                    cb.lessThan(root.get("createdAt"), c.createdAt()),
                    cb.and(cb.equal(root.get("createdAt"), c.createdAt()), cb.lessThan(root.get("id"), c.id())))));
            return cb.and(conditions.toArray(Predicate[]::new));
        };
        Sort newestFirst = Sort.by(Sort.Order.desc("createdAt"), Sort.Order.desc("id"));
        List<ExportJob> page = jobs.findAll(filter, PageRequest.of(0, limit + 1, newestFirst)).getContent();
        List<ExportJob> shown = page.subList(0, Math.min(limit, page.size()));
        String next = page.size() > limit ? JobCursor.after(shown.get(shown.size() - 1)).encode() : null;
        return new JobPage(shown.stream().map(this::view).toList(), next);
    }

    /** The job as the API shows it, with live progress when this instance runs it. */
    public JobView view(ExportJob job) {
        Optional<CaptureProgress> live = job.status() == JobStatus.RUNNING ? running.progress(job.getId())
                : Optional.empty();
        long rows = live.map(CaptureProgress::rows).orElse(job.rowsExported());
        Long total = live.map(CaptureProgress::totalRows).filter(t -> t >= 0).orElse(job.totalRows());
        return JobView.of(job, rows, total);
    }

    private ExportJob record(ExportType type, ConsumerId consumer, List<TableName> tables) {
        while (true) {
            Instant now = clock.instant();
            List<String> names = files.allocateNames(type, consumer, tables, now, jobs::existsByFilename);
            List<JobFile> planned = new ArrayList<>();
            for (int i = 0; i < tables.size(); i++) {
                planned.add(new JobFile(tables.get(i).qualified(), names.get(i), null));
            }
            try {
                return jobs.save(ExportJob.queued(type, consumer, planned, instance.value(), now));
            } catch (DataIntegrityViolationException e) {
                String constraint = violatedConstraint(e);
                if (OUTPUT_FILENAME_TAKEN.equals(constraint)) {
                    continue; // another instance took the same file name a moment ago: pick the next one
                }
                if (!ONE_ACTIVE_PER_CONSUMER.equals(constraint)) {
                    throw e;
                }
                Optional<ExportJob> active = jobs.findFirstByConsumerIdAndStatusIn(consumer.value(), JobStatus.ACTIVE);
                if (active.isPresent()) {
                    throw new ConsumerBusyException(consumer, active.get().getId());
                }
                // The active export finished between our insert and the lookup: try again.
            }
        }
    }

    private static String violatedConstraint(DataIntegrityViolationException e) {
        return e.getMostSpecificCause() instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getConstraint()
                : null;
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

    public static final class JobFinishedException extends RuntimeException {
        JobFinishedException(UUID jobId, JobStatus status) {
            super("Job " + jobId + " has already finished (" + status.slug() + ")");
        }
    }
}
