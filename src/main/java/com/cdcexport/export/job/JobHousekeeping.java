package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Instant;
import java.util.EnumSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.SmartLifecycle;
import org.springframework.scheduling.concurrent.CustomizableThreadFactory;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.destination.ExportFileStore;

/**
 * Keeps the job table honest across crashes: heartbeats (with progress) for the jobs this instance runs, jobs
 * whose instance died queued again for any instance to run (or failed after too many attempts), and at start-up
 * the clean-up of what a previous life of this instance left behind.
 *
 * <p>Heartbeats and the reaper run on a thread of their own, not on Spring's shared scheduler: that one is
 * shared with slow tasks (retention, metrics, cron schedules), and Spring cancels its tasks as soon as shutdown
 * begins, while exports may still be draining for EXPORT_SHUTDOWN_GRACE. This lifecycle phase starts before
 * {@link JobDispatcher} and stops after it has drained the export workers.
 */
@Component
class JobHousekeeping implements SmartInitializingSingleton, SmartLifecycle {

    static final int PHASE = JobDispatcher.PHASE - 1;
    private static final java.time.Duration STRAY_SWEEP = java.time.Duration.ofMinutes(10);

    private static final Logger log = LoggerFactory.getLogger(JobHousekeeping.class);

    private final JobTable jobs;
    private final JobFiles jobFiles;
    private final RunningJobs running;
    private final ExportFileStore files;
    private final InstanceIdentity instance;
    private final InstanceHeartbeats instances;
    private final CdcProperties.Jobs settings;
    private final Clock clock;
    private volatile ScheduledExecutorService scheduler;

    JobHousekeeping(JobTable jobs, JobFiles jobFiles, RunningJobs running, ExportFileStore files,
                    InstanceIdentity instance, InstanceHeartbeats instances, CdcProperties properties, Clock clock) {
        this.jobs = jobs;
        this.jobFiles = jobFiles;
        this.running = running;
        this.files = files;
        this.instance = instance;
        this.instances = instances;
        this.settings = properties.jobs();
        this.clock = clock;
    }

    /** Before jobs are claimed: what this instance was running when it last stopped is not running any more. */
    @Override
    public void afterSingletonsInstantiated() {
        for (ExportJob job : jobs.runningOn(instance.value())) {
            release(job, clock.instant().plusSeconds(1), "Interrupted: instance " + instance.value() + " restarted");
        }
        reapStaleJobs();
        removeStrayParts();
        jobs.outputFilenames(EnumSet.of(JobStatus.FAILED, JobStatus.CANCELLED)).forEach(files::deleteAll);
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void start() {
        long interval = settings.heartbeatInterval().toMillis();
        scheduler = Executors.newSingleThreadScheduledExecutor(new CustomizableThreadFactory("job-housekeeping-"));
        scheduler.scheduleWithFixedDelay(instances::beat, 0, interval, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::heartbeat, interval, interval, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::reapStaleJobs, interval, interval, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::removeStrayParts, STRAY_SWEEP.toMinutes(), STRAY_SWEEP.toMinutes(),
                TimeUnit.MINUTES);
    }

    /**
     * What an attempt left when its own clean-up failed (an S3 endpoint that was away when it aborted): an open
     * multipart upload costs money until it is aborted, so it is not left to the next start-up.
     */
    private void removeStrayParts() {
        try {
            jobFiles.removeStrayParts();
        } catch (RuntimeException e) {
            log.warn("Removing uncommitted export files failed: {}", e.toString());
        }
    }

    @Override
    public void stop() {
        scheduler.shutdown();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        instances.stopped();
        scheduler = null;
    }

    @Override
    public boolean isRunning() {
        return scheduler != null;
    }

    /**
     * Marks this instance's running jobs alive and publishes their progress. A job that is no longer ours
     * (cancelled through any instance, or taken for dead) is stopped here.
     */
    void heartbeat() {
        for (RunningJobs.Running r : running.all()) {
            try {
                if (!jobs.heartbeat(r.job(), r.progress(), clock.instant())) {
                    boolean cancelled = jobs.find(r.job().id()).map(j -> j.status() == JobStatus.CANCELLED)
                            .orElse(false);
                    if (cancelled) {
                        r.progress().cancel();
                    } else {
                        r.progress().loseClaim();
                    }
                }
            } catch (RuntimeException e) {
                log.warn("Heartbeat of job {} failed: {}", r.job().id(), e.toString());
            }
        }
    }

    void reapStaleJobs() {
        try {
            Instant cutoff = clock.instant().minus(settings.staleAfter());
            for (ExportJob job : jobs.runningSilentSince(cutoff)) {
                release(job, cutoff, "Instance " + job.instanceId() + " stopped sending heartbeats");
            }
        } catch (RuntimeException e) {
            log.warn("Reaping stale jobs failed: {}", e.toString());
        }
    }

    /**
     * Queues a job whose runner is gone again, or fails it once it has used up its attempts; then removes that
     * attempt's files, and only those (a later attempt may already be running: see {@link JobFiles}).
     */
    private void release(ExportJob job, Instant cutoff, String reason) {
        boolean retry = job.attempts() < settings.maxAttempts();
        boolean released = retry
                ? jobs.requeueIfSilentSince(job, cutoff, reason + "; queued again")
                : jobs.failIfSilentSince(job, cutoff, reason + "; failed after " + job.attempts() + " attempts",
                clock.instant());
        if (released) {
            jobFiles.discardAttempt(job, job.attempts());
            log.warn("Job {} (attempt {}): {}; {}", job.id(), job.attempts(), reason,
                    retry ? "queued again" : "failed");
            if (!retry) {
                ExportEvents.failed(job, reason);
            }
        }
    }
}
