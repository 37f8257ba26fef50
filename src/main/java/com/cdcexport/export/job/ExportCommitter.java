package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.export.capture.CaptureResult;
import com.cdcexport.export.capture.Snapshot;
import com.cdcexport.export.watermark.WatermarkService;

/** The single transaction that makes an export count: the job completes and the watermark moves, or neither. */
@Component
class ExportCommitter {

    private final JobTable jobs;
    private final WatermarkService watermarks;
    private final Clock clock;

    ExportCommitter(JobTable jobs, WatermarkService watermarks, Clock clock) {
        this.jobs = jobs;
        this.watermarks = watermarks;
        this.clock = clock;
    }

    @Transactional
    public void commit(ExportJob job, Optional<Snapshot> previous, CaptureResult result) {
        Instant now = clock.instant();
        if (!jobs.complete(job, result.rows(), result.snapshot().text(), now)) {
            throw new IllegalStateException("Job " + job.id() + " is no longer this runner's (cancelled, or taken "
                    + "for dead after missing heartbeats); its file is discarded");
        }
        watermarks.advance(job.consumerId(), previous, result, now);
    }
}
