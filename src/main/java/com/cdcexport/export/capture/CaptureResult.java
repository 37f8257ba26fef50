package com.cdcexport.export.capture;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** What one export read: the snapshot it read at (and when), and per table its rows and greatest updated_at. */
public record CaptureResult(Snapshot snapshot, Instant snapshotTime, List<TableResult> tables) {

    public CaptureResult {
        tables = List.copyOf(tables);
    }

    public long rows() {
        return tables.stream().mapToLong(TableResult::rows).sum();
    }

    /**
     * @param maxUpdatedAt  the greatest updated_at exported (tables with the seed's columns); empty for other
     *                      tables or when no row was exported
     * @param seedSemantics whether the table has the seed's is_deleted, created_at and updated_at
     */
    public record TableResult(TableName table, long rows, Optional<Instant> maxUpdatedAt, boolean seedSemantics) {
    }
}
