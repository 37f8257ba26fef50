package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.file.ExportFileStore;

/**
 * With EXPORT_RETENTION set, deletes finished jobs older than that, with their files. Watermarks do not depend
 * on job rows, so consumers lose nothing but the history.
 */
@Component
class JobRetention {

    private static final Logger log = LoggerFactory.getLogger(JobRetention.class);

    private final JobTable jobs;
    private final ExportFileStore files;
    private final CdcProperties.Jobs settings;
    private final Clock clock;

    JobRetention(JobTable jobs, ExportFileStore files, CdcProperties properties, Clock clock) {
        this.jobs = jobs;
        this.files = files;
        this.settings = properties.jobs();
        this.clock = clock;
    }

    @Scheduled(initialDelay = 1, fixedDelay = 10, timeUnit = TimeUnit.MINUTES)
    void applyRetention() {
        if (settings.retention() == null) {
            return;
        }
        try {
            Instant cutoff = clock.instant().minus(settings.retention());
            List<ExportJob> expired = jobs.finishedBefore(cutoff);
            for (ExportJob job : expired) {
                job.storedNames().forEach(files::deleteAll);
                jobs.delete(job.id());
            }
            if (!expired.isEmpty()) {
                log.info("Retention removed {} export jobs and their files older than {}", expired.size(),
                        settings.retention());
            }
        } catch (RuntimeException e) {
            log.warn("Applying retention failed: {}", e.toString());
        }
    }
}
