package com.cdcexport.export.job;

import java.time.Clock;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.postgresql.util.PSQLException;

import org.springframework.core.task.TaskRejectedException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.stereotype.Service;

import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.ExportType;
import com.cdcexport.export.file.ExportFileStore;

/** Accepts export requests: records the job, enforces one export per consumer, hands it to the bounded executor. */
@Service
public class ExportJobService {

    private static final String ONE_ACTIVE_PER_CONSUMER = "export_jobs_one_active_per_consumer";
    private static final String OUTPUT_FILENAME_TAKEN = "export_jobs_output_filename_key";

    private final ExportJobRepository jobs;
    private final ExportFileStore files;
    private final ExportRunner runner;
    private final ThreadPoolTaskExecutor executor;
    private final InstanceIdentity instance;
    private final Clock clock;
    /** Jobs accepted by this instance and not finished: the ones its heartbeat keeps alive. */
    private final Set<UUID> inFlight = ConcurrentHashMap.newKeySet();

    public ExportJobService(ExportJobRepository jobs, ExportFileStore files, ExportRunner runner,
                            ThreadPoolTaskExecutor exportExecutor, InstanceIdentity instance, Clock clock) {
        this.jobs = jobs;
        this.files = files;
        this.runner = runner;
        this.executor = exportExecutor;
        this.instance = instance;
        this.clock = clock;
    }

    /**
     * @throws ConsumerBusyException when the consumer already has a queued or running export (on any instance)
     * @throws QueueFullException    when every worker is busy and the queue is full
     */
    public ExportJob submit(ExportType type, ConsumerId consumer) {
        ExportJob job = record(type, consumer);
        inFlight.add(job.getId());
        try {
            executor.execute(() -> {
                try {
                    runner.run(job);
                } finally {
                    inFlight.remove(job.getId());
                }
            });
        } catch (TaskRejectedException e) {
            inFlight.remove(job.getId());
            jobs.deleteQueued(job.getId());
            throw new QueueFullException();
        }
        return job;
    }

    Set<UUID> inFlight() {
        return Set.copyOf(inFlight);
    }

    private ExportJob record(ExportType type, ConsumerId consumer) {
        while (true) {
            var now = clock.instant();
            String name = files.allocateName(type, consumer, now, jobs::existsByOutputFilename);
            try {
                return jobs.save(ExportJob.queued(type, consumer, name, instance.value(), now));
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
}
