package com.cdcexport.export.job;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.export.capture.CaptureResult;
import com.cdcexport.export.capture.CaptureResult.TableResult;
import com.cdcexport.export.capture.TableName;
import com.cdcexport.export.capture.Snapshot;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * The single transaction that makes an export count: the job completes and every table's watermark moves, or
 * nothing does.
 */
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
    public void commit(ExportJob job, Map<TableName, Optional<Snapshot>> previous, CaptureResult result) {
        Instant now = clock.instant();
        List<JobFile> files = job.files().stream().map(f -> new JobFile(f.table(), f.filename(),
                result.tables().stream().filter(t -> t.table().qualified().equals(f.table()))
                        .mapToLong(TableResult::rows).sum())).toList();
        if (!jobs.complete(job, files, result.rows(), result.snapshot().text(), now)) {
            throw new IllegalStateException("Job " + job.id() + " is no longer this runner's (cancelled, or taken "
                    + "for dead after missing heartbeats); its files are discarded");
        }
        watermarks.advance(job.consumerId(), previous, result, now);
    }
}
