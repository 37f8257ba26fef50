package com.cdcexport.export.job;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;

/**
 * All SQL of the export_jobs table (as db-scheduler's JdbcTaskRepository or JobRunr's JobTable). The queue is
 * this table: a claim takes the oldest queued job with FOR UPDATE SKIP LOCKED, so instances sharing the
 * database take different jobs without waiting on one another. Every transition is a conditional UPDATE that
 * reports whether it happened; a running job's transitions also name the attempt (claim) they belong to, so a
 * runner whose claim was taken away can no longer change the job.
 */
@Repository
public class JobTable {

    private static final String COLUMNS = "id, consumer_id, export_type, format, status, output_filename, "
            + "files::text AS files, manifest_filename, rows_exported, total_rows, attempts, instance_id, created_at, "
            + "started_at, finished_at, error, waiting_for";
    /**
     * Every file name of the jobs matching {@code %s}, one row each with the job's attempts: the data files (the
     * first table's is also in output_filename) and the manifest.
     */
    private static final String STORED_NAMES = "SELECT f.name, j.attempts FROM export_jobs j CROSS JOIN LATERAL ("
            + "SELECT jsonb_array_elements(j.files) ->> 'filename' UNION ALL SELECT j.manifest_filename) AS f(name) "
            + "WHERE f.name IS NOT NULL AND %s";
    private static final String RUNNING_ATTEMPT = " AND attempts = :attempt AND status = 'running'";

    enum Enqueued { ACCEPTED, QUEUE_FULL, NOT_UNIQUE }

    private final JdbcClient jdbc;

    JobTable(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Inserts a queued job unless the queue already holds {@code capacity} jobs. Counting then inserting races
     * (two requests both count 19 of 20), so enqueues are serialized on a transaction-scoped advisory lock: each
     * counts after the previous one committed. NOT_UNIQUE: the consumer has an active job, or the file name is
     * taken.
     */
    @Transactional
    public Enqueued enqueue(ExportJob job, int capacity) {
        jdbc.sql("SELECT 1 FROM pg_advisory_xact_lock(hashtext('cdc-export:export_jobs:enqueue'))").query().singleValue();
        if (count(JobStatus.QUEUED) >= capacity) {
            return Enqueued.QUEUE_FULL;
        }
        int inserted = jdbc.sql("INSERT INTO export_jobs (id, consumer_id, export_type, format, status, "
                        + "output_filename, tables, files, manifest_filename, instance_id, created_at, heartbeat_at) "
                        + "VALUES (:id, :consumer, :type, :format, :status, :name, :tables::text[], "
                        + "CAST(:files AS jsonb), :manifest, :instance, :now, :now) ON CONFLICT DO NOTHING")
                .param("id", job.id())
                .param("tables", "{" + String.join(",", job.tables().stream().map(t -> t.qualified()).toList()) + "}")
                .param("files", JobFile.json(job.files()))
                .param("consumer", job.consumerId().value())
                .param("type", slug(job.exportType()))
                .param("format", job.format().slug())
                .param("manifest", job.manifestFilename())
                .param("status", slug(job.status()))
                .param("name", job.outputFilename())
                .param("instance", job.instanceId())
                .param("now", timestamp(job.createdAt()))
                .update();
        return inserted == 1 ? Enqueued.ACCEPTED : Enqueued.NOT_UNIQUE;
    }

    /**
     * Takes the oldest queued job for this instance and returns it as claimed (running, with its new attempt
     * number), in one statement: a claim that committed is never left without its row.
     */
    Optional<ExportJob> claim(String instanceId, Instant now) {
        return jdbc.sql("""
                        UPDATE export_jobs
                           SET status = 'running', instance_id = :instance, started_at = :now, heartbeat_at = :now,
                               attempts = attempts + 1, waiting_for = NULL
                         WHERE id = (SELECT id FROM export_jobs WHERE status = 'queued'
                                      ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
                        RETURNING\s""" + COLUMNS)
                .param("instance", instanceId)
                .param("now", timestamp(now))
                .query(JobTable::job)
                .optional();
    }

    public Optional<ExportJob> find(UUID id) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM export_jobs WHERE id = ?").param(id).query(JobTable::job)
                .optional();
    }

    /** Whether any job names this file, as its first table's or another's, or as its manifest. */
    boolean nameTaken(String filename) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM export_jobs WHERE output_filename = :name OR files @> "
                        + "jsonb_build_array(jsonb_build_object('filename', CAST(:name AS text))) "
                        + "OR manifest_filename = :name)")
                .param("name", filename).query(Boolean.class).single();
    }

    long count(JobStatus status) {
        return jdbc.sql("SELECT count(*) FROM export_jobs WHERE status = ?").param(slug(status)).query(Long.class)
                .single();
    }

    Optional<ExportJob> activeJobOf(ConsumerId consumer) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM export_jobs WHERE consumer_id = ? AND status IN ('queued', "
                        + "'running')")
                .param(consumer.value()).query(JobTable::job).optional();
    }

    /** Newest first, after {@code cursor} when given; the filters that are present narrow the list. */
    List<ExportJob> page(Optional<ConsumerId> consumer, Optional<JobStatus> status, Optional<ExportType> type,
                         Optional<JobCursor> cursor, int limit) {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM export_jobs WHERE true");
        Map<String, Object> params = new HashMap<>();
        consumer.ifPresent(c -> {
            sql.append(" AND consumer_id = :consumer");
            params.put("consumer", c.value());
        });
        status.ifPresent(s -> {
            sql.append(" AND status = :status");
            params.put("status", slug(s));
        });
        type.ifPresent(t -> {
            sql.append(" AND export_type = :type");
            params.put("type", slug(t));
        });
        cursor.ifPresent(c -> {
            sql.append(" AND (created_at, id) < (:createdAt, :id)");
            params.put("createdAt", timestamp(c.createdAt()));
            params.put("id", c.id());
        });
        sql.append(" ORDER BY created_at DESC, id DESC LIMIT :limit");
        params.put("limit", limit);
        return jdbc.sql(sql.toString()).params(params).query(JobTable::job).list();
    }

    List<ExportJob> runningSilentSince(Instant cutoff) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM export_jobs WHERE status = 'running' AND heartbeat_at < ?")
                .param(timestamp(cutoff)).query(JobTable::job).list();
    }

    List<ExportJob> runningOn(String instanceId) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM export_jobs WHERE status = 'running' AND instance_id = ?")
                .param(instanceId).query(JobTable::job).list();
    }

    /** The attempt that runs each running job, by file name. */
    Map<String, Integer> runningAttempts() {
        Map<String, Integer> attempts = new HashMap<>();
        jdbc.sql(String.format(Locale.ROOT, STORED_NAMES, "j.status = 'running'"))
                .query(rs -> {
                    attempts.put(rs.getString(1), rs.getInt(2));
                });
        return attempts;
    }

    List<String> outputFilenames(Set<JobStatus> statuses) {
        return jdbc.sql(String.format(Locale.ROOT, STORED_NAMES, "j.status IN (:statuses)"))
                .param("statuses", statuses.stream().map(JobTable::slug).toList())
                .query((rs, n) -> rs.getString(1)).list();
    }

    /**
     * Finished jobs older than {@code cutoff} that retention may delete: all of them but the completed ones a
     * consumer's watermark points to, i.e. whose snapshot is the watermark of one of its tables (the commit that
     * completed the job wrote that very snapshot there; a later export of the table, or a filter change that
     * restarted it, releases the job).
     */
    List<ExportJob> expiredBefore(Instant cutoff) {
        return jdbc.sql("SELECT " + COLUMNS + " " + """
                         FROM export_jobs j
                        WHERE j.status IN ('completed', 'failed', 'cancelled') AND j.finished_at < :cutoff
                          AND NOT (j.status = 'completed' AND EXISTS (
                              SELECT 1 FROM watermarks w
                               WHERE w.consumer_id = j.consumer_id AND w.table_name = ANY (j.tables)
                                 AND w.snapshot::text = j.snapshot))""")
                .param("cutoff", timestamp(cutoff)).query(JobTable::job).list();
    }

    /** What went wrong in detail, for the admin: the database's or file system's own message, if it had one. */
    Optional<String> errorDetail(UUID id) {
        return jdbc.sql("SELECT error_detail FROM export_jobs WHERE id = ? AND error_detail IS NOT NULL").param(id)
                .query(String.class).optional();
    }

    /** Of {@code ids}, the jobs that have ended: completed, failed or cancelled. */
    Set<UUID> ended(List<UUID> ids) {
        // (at most the 64 waited-for jobs: an IN list of parameters)
        return Set.copyOf(jdbc.sql("SELECT id FROM export_jobs WHERE id IN (:ids) "
                        + "AND status IN ('completed', 'failed', 'cancelled')")
                .param("ids", ids).query(UUID.class).list());
    }

    void delete(UUID id) {
        jdbc.sql("DELETE FROM export_jobs WHERE id = ?").param(id).update();
    }

    /** Runs inside the commit transaction, together with the watermarks' compare-and-set. */
    @Transactional(propagation = Propagation.MANDATORY)
    public boolean complete(ExportJob job, List<JobFile> files, long rows, String snapshot, Instant now) {
        return jdbc.sql("UPDATE export_jobs SET status = 'completed', rows_exported = :rows, total_rows = :rows, "
                        + "files = CAST(:files AS jsonb), snapshot = :snapshot, finished_at = :now, error = NULL, "
                        + "error_detail = NULL "
                        + "WHERE id = :id" + RUNNING_ATTEMPT)
                .param("rows", rows).param("files", JobFile.json(files)).param("snapshot", snapshot)
                .param("now", timestamp(now))
                .param("id", job.id()).param("attempt", job.attempts())
                .update() == 1;
    }

    /**
     * A completed job's end, moved to {@code now} within the transaction that completed it: after a table
     * destination's commit, which is part of the export's time.
     */
    public void finishedAt(ExportJob job, Instant now) {
        jdbc.sql("UPDATE export_jobs SET finished_at = :now WHERE id = :id AND attempts = :attempt "
                        + "AND status = 'completed'")
                .param("now", timestamp(now)).param("id", job.id()).param("attempt", job.attempts()).update();
    }

    /** The job's error is what its consumer reads; the detail only the admin (console) and the log. */
    public boolean fail(ExportJob job, JobFailure failure, Instant now) {
        return jdbc.sql("UPDATE export_jobs SET status = 'failed', error = :error, error_detail = :detail, "
                        + "finished_at = :now WHERE id = :id" + RUNNING_ATTEMPT)
                .param("error", failure.message()).param("detail", failure.detail()).param("now", timestamp(now))
                .param("id", job.id()).param("attempt", job.attempts())
                .update() == 1;
    }

    boolean cancel(UUID id, Instant now) {
        return jdbc.sql("UPDATE export_jobs SET status = 'cancelled', finished_at = :now, error = 'Cancelled on "
                        + "request' WHERE id = :id AND status IN ('queued', 'running')")
                .param("now", timestamp(now)).param("id", id)
                .update() == 1;
    }

    /** The heartbeat of one running job, carrying its progress; false when the job is no longer this attempt's. */
    boolean heartbeat(ExportJob job, ExportProgress progress, Instant now) {
        long total = progress.totalRows();
        return jdbc.sql("UPDATE export_jobs SET heartbeat_at = :now, rows_exported = :rows, total_rows = :total, "
                        + "waiting_for = :waiting WHERE id = :id" + RUNNING_ATTEMPT)
                .param("now", timestamp(now)).param("rows", progress.rows()).param("total", total < 0 ? null : total)
                .param("waiting", progress.waitingFor().map(ExportProgress.Wait::slug).orElse(null))
                .param("id", job.id()).param("attempt", job.attempts())
                .update() == 1;
    }

    /** Gives a job whose runner is gone back to the queue, for any instance to run again. */
    boolean requeueIfSilentSince(ExportJob job, Instant cutoff, String reason) {
        return jdbc.sql("UPDATE export_jobs SET status = 'queued', error = :reason, started_at = NULL, "
                        + "rows_exported = 0, total_rows = NULL WHERE id = :id" + RUNNING_ATTEMPT
                        + " AND heartbeat_at < :cutoff")
                .param("reason", reason).param("cutoff", timestamp(cutoff))
                .param("id", job.id()).param("attempt", job.attempts())
                .update() == 1;
    }

    boolean failIfSilentSince(ExportJob job, Instant cutoff, String error, Instant now) {
        return jdbc.sql("UPDATE export_jobs SET status = 'failed', error = :error, finished_at = :now WHERE id = :id"
                        + RUNNING_ATTEMPT + " AND heartbeat_at < :cutoff")
                .param("error", error).param("now", timestamp(now)).param("cutoff", timestamp(cutoff))
                .param("id", job.id()).param("attempt", job.attempts())
                .update() == 1;
    }

    /**
     * Locks the job's row until the surrounding transaction ends, if {@code attempt} is still its latest attempt
     * and it has not completed. While the lock is held no later attempt can be claimed and no attempt can commit.
     */
    @Transactional(propagation = Propagation.MANDATORY)
    public boolean lockLatestUncommitted(UUID id, int attempt) {
        return jdbc.sql("SELECT 1 FROM export_jobs WHERE id = ? AND attempts = ? AND status <> 'completed' "
                        + "FOR UPDATE")
                .params(id, attempt).query(Integer.class).optional().isPresent();
    }

    private static ExportJob job(ResultSet rs, int row) throws SQLException {
        return new ExportJob(rs.getObject("id", UUID.class), new ConsumerId(rs.getString("consumer_id")),
                ExportType.valueOf(rs.getString("export_type").toUpperCase(Locale.ROOT)),
                ExportFormat.fromSlug(rs.getString("format")).orElseThrow(),
                JobStatus.valueOf(rs.getString("status").toUpperCase(Locale.ROOT)),
                rs.getString("output_filename"), JobFile.parse(rs.getString("files")),
                rs.getString("manifest_filename"), rs.getLong("rows_exported"),
                rs.getObject("total_rows", Long.class), rs.getInt("attempts"), rs.getString("instance_id"),
                instant(rs, "created_at"), instant(rs, "started_at"), instant(rs, "finished_at"),
                rs.getString("error"), rs.getString("waiting_for"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    private static Timestamp timestamp(Instant instant) {
        return Timestamp.from(instant);
    }

    /** The database stores enums as the lowercase words the API shows (and the CHECK constraints allow). */
    private static String slug(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
