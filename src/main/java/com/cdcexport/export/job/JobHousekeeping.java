package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.file.ExportFileStore;

/**
 * Keeps the job table honest across crashes: heartbeats for this instance's jobs, failing (and cleaning up after)
 * jobs whose instance died, and at start-up removing files that no committed job stands behind.
 */
@Component
class JobHousekeeping implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(JobHousekeeping.class);

    private final ExportJobRepository jobs;
    private final ExportJobService service;
    private final ExportFileStore files;
    private final InstanceIdentity instance;
    private final Duration staleAfter;
    private final Clock clock;

    JobHousekeeping(ExportJobRepository jobs, ExportJobService service, ExportFileStore files,
                    InstanceIdentity instance, CdcProperties properties, Clock clock) {
        this.jobs = jobs;
        this.service = service;
        this.files = files;
        this.instance = instance;
        this.staleAfter = properties.jobs().staleAfter();
        this.clock = clock;
    }

    /** Before the service takes requests: what a previous life of this instance left behind cannot be running. */
    @Override
    public void afterSingletonsInstantiated() {
        for (ExportJob job : jobs.findByStatusInAndInstanceId(JobStatus.ACTIVE, instance.value())) {
            if (jobs.markFailed(job.getId(), "Interrupted: instance " + instance.value() + " restarted",
                    clock.instant()) == 1) {
                files.delete(job.outputFilename());
                ExportEvents.failed(job, "Interrupted: instance restarted");
            }
        }
        reapStaleJobs();
        Set<String> active = new HashSet<>(jobs.findOutputFilenamesByStatusIn(JobStatus.ACTIVE));
        files.removeStrayParts(active);
        jobs.findOutputFilenamesByStatusIn(EnumSet.of(JobStatus.FAILED, JobStatus.CANCELLED)).forEach(files::delete);
    }

    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    void heartbeat() {
        Set<UUID> mine = service.inFlight();
        if (mine.isEmpty()) {
            return;
        }
        try {
            jobs.heartbeat(mine, clock.instant());
        } catch (RuntimeException e) {
            log.warn("Heartbeat failed: {}", e.toString());
        }
    }

    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    void reapStaleJobs() {
        try {
            Instant now = clock.instant();
            Instant cutoff = now.minus(staleAfter);
            for (ExportJob job : jobs.findByStatusInAndHeartbeatAtBefore(JobStatus.ACTIVE, cutoff)) {
                String error = "Instance " + job.instanceId() + " stopped sending heartbeats";
                if (jobs.failIfStale(job.getId(), cutoff, error, now) == 1) {
                    files.delete(job.outputFilename());
                    ExportEvents.failed(job, error);
                }
            }
        } catch (RuntimeException e) {
            log.warn("Reaping stale jobs failed: {}", e.toString());
        }
    }
}
