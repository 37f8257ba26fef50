package com.cdcexport.export.pipeline;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.JobFile;
import com.cdcexport.export.job.JobTable;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.ReadResult.TableResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;
import com.cdcexport.export.read.TableExport;
import com.cdcexport.export.watermark.HeldRows;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * The single transaction that makes an export count: the job completes and every table's watermark moves (with
 * what a filtered consumer holds of it), or nothing does.
 */
@Component
class ExportCommitter {

    private final JobTable jobs;
    private final WatermarkService watermarks;
    private final HeldRows held;
    private final TableAccessStore access;
    private final Clock clock;

    ExportCommitter(JobTable jobs, WatermarkService watermarks, HeldRows held, TableAccessStore access, Clock clock) {
        this.jobs = jobs;
        this.watermarks = watermarks;
        this.held = held;
        this.access = access;
        this.clock = clock;
    }

    /** @param tables the tables as the export read them, with the consumer's rules it read them under */
    @Transactional
    public void commit(ExportJob job, List<TableExport> tables, Map<TableName, Optional<Snapshot>> previous,
                       ReadResult result) {
        Instant now = clock.instant();
        List<JobFile> files = job.files().stream().map(f -> new JobFile(f.table(), f.filename(),
                result.tables().stream().filter(t -> t.table().qualified().equals(f.table()))
                        .mapToLong(TableResult::rows).sum())).toList();
        if (!jobs.complete(job, files, result.rows(), result.snapshot().text(), now)) {
            throw new IllegalStateException("Job " + job.id() + " is no longer this runner's (cancelled, or taken "
                    + "for dead after missing heartbeats); its files are discarded");
        }
        for (TableExport table : tables) {
            if (!access.lockedAccessOf(job.consumerId(), table.table()).filter().equals(table.access().filter())) {
                throw new IllegalStateException("The row filter of consumer " + job.consumerId() + " on "
                        + table.table() + " changed during this export; run the export again");
            }
        }
        watermarks.advance(job.consumerId(), previous, result, now);
        for (TableExport table : tables) {
            held.apply(job.consumerId(), table.table(), job.id(), job.attempts(), !table.access().filter().isEmpty(),
                    table.since().isEmpty());
        }
        held.discardStaged(job.id());
    }
}
