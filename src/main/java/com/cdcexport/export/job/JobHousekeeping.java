package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.file.ExportFileStore;

/**
 * Keeps the job table honest across crashes: heartbeats (with progress) for the jobs this instance runs, jobs
 * whose instance died queued again for any instance to run (or failed after too many attempts), and at start-up
 * the clean-up of what a previous life of this instance left behind.
 */
@Component
class JobHousekeeping implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(JobHousekeeping.class);

    private final ExportJobRepository jobs;
    private final RunningJobs running;
    private final ExportFileStore files;
    private final InstanceIdentity instance;
    private final CdcProperties.Jobs settings;
    private final Clock clock;

    JobHousekeeping(ExportJobRepository jobs, RunningJobs running, ExportFileStore files, InstanceIdentity instance,
                    CdcProperties properties, Clock clock) {
        this.jobs = jobs;
        this.running = running;
        this.files = files;
        this.instance = instance;
        this.settings = properties.jobs();
        this.clock = clock;
    }

    /** Before jobs are claimed: what this instance was running when it last stopped is not running any more. */
    @Override
    public void afterSingletonsInstantiated() {
        for (ExportJob job : jobs.findByStatusAndInstanceId(JobStatus.RUNNING, instance.value())) {
            release(job, clock.instant().plusSeconds(1), "Interrupted: instance " + instance.value() + " restarted");
        }
        reapStaleJobs();
        Set<String> active = new HashSet<>();
        jobs.findByStatusIn(JobStatus.ACTIVE).forEach(j -> j.files().forEach(f -> active.add(f.filename())));
        files.removeStrayParts(active);
        jobs.findByStatusIn(EnumSet.of(JobStatus.FAILED, JobStatus.CANCELLED)).forEach(this::deleteFiles);
    }

    /**
     * Marks this instance's running jobs alive and publishes their progress. A job that is no longer ours
     * (cancelled through any instance, or taken for dead) is stopped here.
     */
    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    void heartbeat() {
        for (RunningJobs.Running r : running.all()) {
            try {
                long total = r.progress().totalRows();
                int updated = jobs.heartbeat(r.job().getId(), r.job().attempts(), r.progress().rows(),
                        total < 0 ? null : total, clock.instant());
                if (updated == 0) {
                    r.progress().cancel();
                }
            } catch (RuntimeException e) {
                log.warn("Heartbeat of job {} failed: {}", r.job().getId(), e.toString());
            }
        }
    }

    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    void reapStaleJobs() {
        try {
            Instant cutoff = clock.instant().minus(settings.staleAfter());
            for (ExportJob job : jobs.findByStatusAndHeartbeatAtBefore(JobStatus.RUNNING, cutoff)) {
                release(job, cutoff, "Instance " + job.instanceId() + " stopped sending heartbeats");
            }
        } catch (RuntimeException e) {
            log.warn("Reaping stale jobs failed: {}", e.toString());
        }
    }

    /**
     * With EXPORT_RETENTION set, deletes finished jobs older than that, with their files. Watermarks do not depend
     * on job rows, so consumers lose nothing but the history.
     */
    @Scheduled(initialDelay = 1, fixedDelay = 10, timeUnit = TimeUnit.MINUTES)
    void applyRetention() {
        if (settings.retention() == null) {
            return;
        }
        try {
            Instant cutoff = clock.instant().minus(settings.retention());
            List<ExportJob> expired = jobs.findByStatusInAndFinishedAtBefore(JobStatus.FINISHED, cutoff);
            for (ExportJob job : expired) {
                deleteFiles(job);
                jobs.delete(job);
            }
            if (!expired.isEmpty()) {
                log.info("Retention removed {} export jobs and their files older than {}", expired.size(),
                        settings.retention());
            }
        } catch (RuntimeException e) {
            log.warn("Applying retention failed: {}", e.toString());
        }
    }

    private void deleteFiles(ExportJob job) {
        job.files().forEach(f -> files.delete(f.filename()));
    }

    /** Queues a job whose runner is gone again, or fails it once it has used up its attempts; removes its files. */
    private void release(ExportJob job, Instant cutoff, String reason) {
        boolean retry = job.attempts() < settings.maxAttempts();
        int released = retry
                ? jobs.requeueIfStale(job.getId(), job.attempts(), cutoff, reason + "; queued again")
                : jobs.failIfStale(job.getId(), job.attempts(), cutoff,
                        reason + "; failed after " + job.attempts() + " attempts", clock.instant());
        if (released == 1) {
            deleteFiles(job);
            log.warn("Job {} (attempt {}): {}; {}", job.getId(), job.attempts(), reason,
                    retry ? "queued again" : "failed");
            if (!retry) {
                ExportEvents.failed(job, reason);
            }
        }
    }
}
