package com.cdcexport.export.watermark;

import java.time.Instant;
import java.util.Optional;

import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

public interface WatermarkRepository extends Repository<Watermark, Integer> {

    Optional<Watermark> findByConsumerId(String consumerId);

    /** The first watermark of a consumer; 0 rows when another export created one meanwhile. */
    @Modifying
    @Query(nativeQuery = true, value = """
            INSERT INTO watermarks (consumer_id, last_exported_at, updated_at, snapshot)
            VALUES (:consumerId, :lastExportedAt, :now, CAST(:snapshot AS pg_snapshot))
            ON CONFLICT (consumer_id) DO NOTHING""")
    int create(@Param("consumerId") String consumerId, @Param("snapshot") String snapshot,
               @Param("lastExportedAt") Instant lastExportedAt, @Param("now") Instant now);

    /**
     * Moves a watermark from the snapshot the export started from to the one it read at; 0 rows when the
     * watermark is no longer at {@code expected}. last_exported_at only ever grows.
     */
    @Modifying
    @Query(nativeQuery = true, value = """
            UPDATE watermarks
               SET snapshot = CAST(:snapshot AS pg_snapshot),
                   last_exported_at = GREATEST(last_exported_at, :lastExportedAt),
                   updated_at = :now
             WHERE consumer_id = :consumerId AND snapshot::text = :expected""")
    int advance(@Param("consumerId") String consumerId, @Param("expected") String expected,
                @Param("snapshot") String snapshot, @Param("lastExportedAt") Instant lastExportedAt,
                @Param("now") Instant now);
}
