package com.cdcexport.export.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.destination.Destination;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.JobFile;
import com.cdcexport.export.job.JobTable;
import com.cdcexport.export.job.JobWaits;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.watermark.HeldRows;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * The single transaction that makes an export count: the job completes and every table's watermark moves (with
 * what a filtered consumer holds of it), and a table destination's commits become visible, or nothing does.
 */
@Component
class ExportCommitter {

    private final JobTable jobs;
    private final WatermarkService watermarks;
    private final HeldRows held;
    private final TableAccessStore access;
    private final Clock clock;
    private final JobWaits waits;

    ExportCommitter(JobTable jobs, WatermarkService watermarks, HeldRows held, TableAccessStore access, Clock clock,
                    JobWaits waits) {
        this.jobs = jobs;
        this.waits = waits;
        this.watermarks = watermarks;
        this.held = held;
        this.access = access;
        this.clock = clock;
    }

    /**
     * @param result  what the export read, per table, under the plan's rules
     * @param attempt the destination's attempt, whose {@link Destination.Attempt#commit table commits} join this
     *                transaction
     */
    @Transactional
    public void commit(ExportJob job, ExportPlan plan, ReadResult result, Destination.Attempt attempt) {
        Instant now = clock.instant();
        List<JobFile> files = result.tables().stream().map(t -> new JobFile(t.table().qualified(),
                t.plan().outputName(), t.rows())).toList();
        if (!jobs.complete(job, files, result.rows(), result.snapshot().text(), now)) {
            throw new IllegalStateException("Job " + job.id() + " is no longer this runner's (cancelled, or taken "
                    + "for dead after missing heartbeats); its files are discarded");
        }
        waits.endsWithThisTransaction(job.id());
        for (TablePlan table : plan.tables()) {
            if (!access.lockedAccessOf(plan.consumer(), table.table()).filter().equals(table.access().filter())) {
                throw new IllegalStateException("The row filter of consumer " + plan.consumer() + " on "
                        + table.table() + " changed during this export; run the export again");
            }
        }
        watermarks.advance(plan, result, now);
        for (TablePlan table : plan.tables()) {
            held.apply(plan, table);
        }
        held.discardStaged(plan.jobId());
        try {
            boolean tables = attempt.commit(result);
            StepPause.inTransaction(StepPause.Step.TABLES_COMMITTED, job);
            if (tables) {
                jobs.finishedAt(job, clock.instant());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
