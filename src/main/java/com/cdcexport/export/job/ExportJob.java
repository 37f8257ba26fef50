package com.cdcexport.export.job;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.PostLoad;
import jakarta.persistence.PostPersist;
import jakarta.persistence.Table;
import jakarta.persistence.Transient;

import org.hibernate.annotations.ColumnTransformer;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

import org.springframework.data.domain.Persistable;

import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.ExportType;
import com.cdcexport.export.capture.TableName;

/**
 * One export request and its outcome. State changes go through {@link ExportJobRepository}'s conditional updates,
 * never through setters, so two parties (the runner and a reaper) can never both win a transition.
 */
@Entity
@Table(name = "export_jobs")
public class ExportJob implements Persistable<UUID> {

    @Id
    private UUID id;

    @Column(name = "consumer_id")
    private String consumerId;

    @Column(name = "export_type")
    private ExportType exportType;

    private JobStatus status;

    @Column(name = "output_filename")
    private String outputFilename;

    /** Qualified names of the tables the export reads in one snapshot. */
    @JdbcTypeCode(SqlTypes.ARRAY)
    @Column(name = "tables")
    private String[] tables;

    /** JSON [{"table", "filename", "rows"}]: one file per table, rows filled in when the export completes. */
    @ColumnTransformer(write = "CAST(? AS jsonb)")
    @Column(name = "files")
    private String files;

    @Column(name = "rows_exported")
    private long rowsExported;

    @Column(name = "total_rows")
    private Long totalRows;

    /** How many times the job was claimed by a runner; fences every transition of a running job. */
    private int attempts;

    @Column(name = "base_snapshot")
    private String baseSnapshot;

    private String snapshot;

    @Column(name = "instance_id")
    private String instanceId;

    @Column(name = "heartbeat_at")
    private Instant heartbeatAt;

    @Column(name = "created_at")
    private Instant createdAt;

    @Column(name = "started_at")
    private Instant startedAt;

    @Column(name = "finished_at")
    private Instant finishedAt;

    private String error;

    @Transient
    private boolean isNew;

    protected ExportJob() {
    }

    static ExportJob queued(ExportType type, ConsumerId consumer, List<JobFile> files, String instanceId,
                            Instant now) {
        ExportJob job = new ExportJob();
        job.id = UUID.randomUUID();
        job.consumerId = consumer.value();
        job.exportType = type;
        job.status = JobStatus.QUEUED;
        job.outputFilename = files.get(0).filename();
        job.tables = files.stream().map(JobFile::table).toArray(String[]::new);
        job.files = JobFile.json(files);
        job.instanceId = instanceId;
        job.heartbeatAt = now;
        job.createdAt = now;
        job.isNew = true;
        return job;
    }

    @PostLoad
    @PostPersist
    void markNotNew() {
        isNew = false;
    }

    @Override
    public boolean isNew() {
        return isNew;
    }

    @Override
    public UUID getId() {
        return id;
    }

    public ConsumerId consumerId() {
        return new ConsumerId(consumerId);
    }

    public ExportType exportType() {
        return exportType;
    }

    public JobStatus status() {
        return status;
    }

    public String outputFilename() {
        return outputFilename;
    }

    public List<TableName> tables() {
        return Arrays.stream(tables).map(t -> TableName.parse(t).orElseThrow()).toList();
    }

    /** Every file of the export, the first one being {@link #outputFilename()}. */
    public List<JobFile> files() {
        return JobFile.parse(files);
    }

    public long rowsExported() {
        return rowsExported;
    }

    public Long totalRows() {
        return totalRows;
    }

    public int attempts() {
        return attempts;
    }

    public String snapshot() {
        return snapshot;
    }

    public String instanceId() {
        return instanceId;
    }

    public Instant createdAt() {
        return createdAt;
    }

    public Instant startedAt() {
        return startedAt;
    }

    public Instant finishedAt() {
        return finishedAt;
    }

    public String error() {
        return error;
    }
}
