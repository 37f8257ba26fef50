package com.cdcexport.export.watermark;

import java.time.Instant;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import org.hibernate.annotations.ColumnTransformer;
import org.hibernate.annotations.Immutable;

/**
 * A consumer's progress. Written only through {@link WatermarkRepository}'s compare-and-set statements, so the
 * entity is read-only.
 */
@Entity
@Immutable
@Table(name = "watermarks")
public class Watermark {

    @Id
    private Integer id;

    @Column(name = "consumer_id")
    private String consumerId;

    /** The greatest updated_at this consumer has been sent; informational, never decreases. */
    @Column(name = "last_exported_at")
    private Instant lastExportedAt;

    /** The snapshot of the consumer's last successful export: what decides the next change window. */
    @ColumnTransformer(read = "snapshot::text")
    @Column(name = "snapshot")
    private String snapshot;

    protected Watermark() {
    }

    public String consumerId() {
        return consumerId;
    }

    public Instant lastExportedAt() {
        return lastExportedAt;
    }

    public String snapshot() {
        return snapshot;
    }
}
