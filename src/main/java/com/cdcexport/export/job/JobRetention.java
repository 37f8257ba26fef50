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
import com.cdcexport.export.destination.ExportFileStore;

/**
 * Deletes finished jobs older than EXPORT_RETENTION (7 days unless set), with their files, so that exports do not
 * pile up personal data on disk forever. Per consumer and table the newest completed export stays whatever its age:
 * it is what the consumer's watermark points to, the file its data last matched. Watermarks do not depend on job
 * rows, so consumers lose nothing else but the history.
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
        if (settings.effectiveRetention().isEmpty()) {
            return;
        }
        try {
            Instant cutoff = clock.instant().minus(settings.effectiveRetention().get());
            List<ExportJob> expired = jobs.expiredBefore(cutoff);
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
