package com.cdcexport.export.job;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;
import org.springframework.transaction.annotation.Transactional;

/**
 * Every transition is a conditional UPDATE that reports whether it happened. A running job's transitions also
 * name the attempt (claim) they belong to, so a runner whose claim was taken away can no longer change the job.
 */
public interface ExportJobRepository extends JpaRepository<ExportJob, UUID>, JpaSpecificationExecutor<ExportJob> {

    String RUNNING = "com.cdcexport.export.job.JobStatus.RUNNING";

    /** Whether any job names this file, as its first file or another table's. */
    @Query(nativeQuery = true, value = """
            SELECT EXISTS (SELECT 1 FROM export_jobs WHERE output_filename = :name
                              OR files @> jsonb_build_array(jsonb_build_object('filename', CAST(:name AS text))))""")
    boolean existsByFilename(@Param("name") String name);

    long countByStatus(JobStatus status);

    Optional<ExportJob> findFirstByConsumerIdAndStatusIn(String consumerId, Collection<JobStatus> statuses);

    List<ExportJob> findByStatusIn(Collection<JobStatus> statuses);

    List<ExportJob> findByStatusAndHeartbeatAtBefore(JobStatus status, Instant cutoff);

    List<ExportJob> findByStatusAndInstanceId(JobStatus status, String instanceId);

    List<ExportJob> findByStatusInAndFinishedAtBefore(Collection<JobStatus> statuses, Instant cutoff);

    /** Runs inside the commit transaction, together with the watermarks' compare-and-set. */
    @Modifying
    @Query(nativeQuery = true, value = """
            UPDATE export_jobs SET status = 'completed', rows_exported = :rows, total_rows = :rows,
                   snapshot = :snapshot, files = CAST(:files AS jsonb), finished_at = :now, error = NULL
             WHERE id = :id AND attempts = :attempt AND status = 'running'""")
    int markCompleted(@Param("id") UUID id, @Param("attempt") int attempt, @Param("rows") long rows,
                      @Param("snapshot") String snapshot, @Param("files") String files, @Param("now") Instant now);

    @Transactional
    @Modifying
    @Query("update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.FAILED, j.error = :error,"
            + " j.finishedAt = :now where j.id = :id and j.attempts = :attempt and j.status = " + RUNNING)
    int markFailed(@Param("id") UUID id, @Param("attempt") int attempt, @Param("error") String error,
                   @Param("now") Instant now);

    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.CANCELLED, j.finishedAt = :now,
                   j.error = 'Cancelled on request'
             where j.id = :id and j.status in (com.cdcexport.export.job.JobStatus.QUEUED,
                                               com.cdcexport.export.job.JobStatus.RUNNING)""")
    int cancel(@Param("id") UUID id, @Param("now") Instant now);

    /** The heartbeat of one running job, carrying its progress. */
    @Transactional
    @Modifying
    @Query("update ExportJob j set j.heartbeatAt = :now, j.rowsExported = :rows, j.totalRows = :total"
            + " where j.id = :id and j.attempts = :attempt and j.status = " + RUNNING)
    int heartbeat(@Param("id") UUID id, @Param("attempt") int attempt, @Param("rows") long rows,
                  @Param("total") Long total, @Param("now") Instant now);

    /** Gives a job whose runner is gone back to the queue, for any instance to run again. */
    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.QUEUED, j.error = :reason,
                   j.startedAt = null, j.rowsExported = 0, j.totalRows = null
             where j.id = :id and j.attempts = :attempt and j.status = com.cdcexport.export.job.JobStatus.RUNNING
               and j.heartbeatAt < :cutoff""")
    int requeueIfStale(@Param("id") UUID id, @Param("attempt") int attempt, @Param("cutoff") Instant cutoff,
                       @Param("reason") String reason);

    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.FAILED, j.error = :error,
                   j.finishedAt = :now
             where j.id = :id and j.attempts = :attempt and j.status = com.cdcexport.export.job.JobStatus.RUNNING
               and j.heartbeatAt < :cutoff""")
    int failIfStale(@Param("id") UUID id, @Param("attempt") int attempt, @Param("cutoff") Instant cutoff,
                    @Param("error") String error, @Param("now") Instant now);
}
