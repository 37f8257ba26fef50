package com.cdcexport.export.pipeline;

import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.model.ExportProgress;

/**
 * A test hook, inert unless the environment sets CDC_TEST_PAUSE_AFTER: the crash tests set it to one step of an
 * export's end ({@link Step}), and a runner that reaches that step logs it and stops there until it loses its
 * claim (or is cancelled). The test then kills the process exactly at that step, or freezes it and lets another
 * instance take the job over and wakes it afterwards. Only a job's first attempt stops, so an instance started
 * again with the same setting runs the job it queued again to its end. It only ever delays a runner; it changes
 * nothing the runner does.
 */
public final class StepPause {

    /** The steps between the last row written and the job's commit, in order. */
    public enum Step {
        /** Every table's file written (uploaded, on S3), none published. */
        WRITTEN,
        /** Every table's file published under its final name; the manifest not yet. */
        PUBLISHED,
        /** The manifest published; the commit (job completed, watermarks moved) not yet made. */
        MANIFEST,
        /**
         * Inside the commit transaction: the job completed and the watermarks moved in it, a table destination's
         * commit made (in a REST catalog: committed there), the transaction not yet committed.
         */
        TABLES_COMMITTED,
        /** The commit made; the runner has not reported the job done yet. */
        COMMITTED
    }

    static final String VARIABLE = "CDC_TEST_PAUSE_AFTER";
    private static final Logger log = LoggerFactory.getLogger(StepPause.class);
    private static final String AFTER = System.getenv(VARIABLE);

    private StepPause() {
    }

    static void after(Step step, ExportJob job, ExportProgress progress) {
        if (AFTER == null || job.attempts() != 1 || !AFTER.strip().equalsIgnoreCase(step.name())) {
            return;
        }
        log.warn("Paused after step {} of job {} (attempt {}): {} is set, a test hook", step.name()
                .toLowerCase(Locale.ROOT), job.id(), job.attempts(), VARIABLE);
        while (!progress.isClaimLost() && !progress.isCancelled()) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log.warn("Job {} (attempt {}) goes on after step {}", job.id(), job.attempts(),
                step.name().toLowerCase(Locale.ROOT));
    }

    /**
     * A step inside the commit transaction: the runner holds the job's row lock, so no other instance can take the
     * job over meanwhile and only a kill (or {@link #IN_TRANSACTION_LIMIT}) ends the pause.
     */
    static void inTransaction(Step step, ExportJob job) {
        if (AFTER == null || job.attempts() != 1 || !AFTER.strip().equalsIgnoreCase(step.name())) {
            return;
        }
        log.warn("Paused after step {} of job {} (attempt {}): {} is set, a test hook", step.name()
                .toLowerCase(Locale.ROOT), job.id(), job.attempts(), VARIABLE);
        try {
            Thread.sleep(IN_TRANSACTION_LIMIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How long a pause inside the commit transaction lasts at most, in milliseconds. */
    private static final long IN_TRANSACTION_LIMIT = 120_000;
}
