package com.cdcexport.export.job;

/**
 * What the queue hands a job to once this instance has claimed it: the export pipeline. The queue knows jobs, not
 * how an export is made, so it depends on this interface and the pipeline (a layer above) implements it.
 */
public interface ClaimedJobRunner {

    /**
     * Runs the export to its end, recording its outcome on the job's row (completed, or failed with the reason);
     * never throws.
     *
     * @param job a job this instance has just claimed (status running, {@code job.attempts()} its claim)
     */
    void run(ExportJob job);
}
