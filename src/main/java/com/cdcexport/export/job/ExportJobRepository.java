package com.cdcexport.export.job;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;
import org.springframework.transaction.annotation.Transactional;

/**
 * Every transition is a conditional UPDATE that reports whether it happened: the status a job must be in is part
 * of the statement, so concurrent parties (runner, reaper, another instance) cannot both move one job.
 */
public interface ExportJobRepository extends JpaRepository<ExportJob, UUID> {

    boolean existsByOutputFilename(String outputFilename);

    Optional<ExportJob> findFirstByConsumerIdAndStatusIn(String consumerId, Collection<JobStatus> statuses);

    @Query("select j.outputFilename from ExportJob j where j.status in :statuses")
    List<String> findOutputFilenamesByStatusIn(@Param("statuses") Collection<JobStatus> statuses);

    List<ExportJob> findByStatusInAndHeartbeatAtBefore(Collection<JobStatus> statuses, Instant cutoff);

    List<ExportJob> findByStatusInAndInstanceId(Collection<JobStatus> statuses, String instanceId);

    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.RUNNING, j.startedAt = :now,
                   j.heartbeatAt = :now, j.baseSnapshot = :baseSnapshot
             where j.id = :id and j.status = com.cdcexport.export.job.JobStatus.QUEUED""")
    int markRunning(@Param("id") UUID id, @Param("baseSnapshot") String baseSnapshot, @Param("now") Instant now);

    /** Runs inside the commit transaction, together with the watermark's compare-and-set. */
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.COMPLETED, j.rowsExported = :rows,
                   j.snapshot = :snapshot, j.finishedAt = :now
             where j.id = :id and j.status = com.cdcexport.export.job.JobStatus.RUNNING""")
    int markCompleted(@Param("id") UUID id, @Param("rows") long rows, @Param("snapshot") String snapshot,
                      @Param("now") Instant now);

    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.FAILED, j.error = :error,
                   j.finishedAt = :now
             where j.id = :id and j.status in (com.cdcexport.export.job.JobStatus.QUEUED,
                                               com.cdcexport.export.job.JobStatus.RUNNING)""")
    int markFailed(@Param("id") UUID id, @Param("error") String error, @Param("now") Instant now);

    /** Keeps this instance's jobs from being taken for dead. */
    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.heartbeatAt = :now
             where j.id in :ids and j.status in (com.cdcexport.export.job.JobStatus.QUEUED,
                                                 com.cdcexport.export.job.JobStatus.RUNNING)""")
    int heartbeat(@Param("ids") Collection<UUID> ids, @Param("now") Instant now);

    @Transactional
    @Modifying
    @Query("""
            update ExportJob j set j.status = com.cdcexport.export.job.JobStatus.FAILED, j.error = :error,
                   j.finishedAt = :now
             where j.id = :id and j.heartbeatAt < :cutoff
               and j.status in (com.cdcexport.export.job.JobStatus.QUEUED,
                                com.cdcexport.export.job.JobStatus.RUNNING)""")
    int failIfStale(@Param("id") UUID id, @Param("cutoff") Instant cutoff, @Param("error") String error,
                    @Param("now") Instant now);

    @Transactional
    @Modifying
    @Query("delete from ExportJob j where j.id = :id and j.status = com.cdcexport.export.job.JobStatus.QUEUED")
    int deleteQueued(@Param("id") UUID id);
}
