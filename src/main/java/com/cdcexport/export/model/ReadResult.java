package com.cdcexport.export.model;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.cdcexport.export.format.FileColumn;

/** What one export read: the snapshot it read at (and when), and per table its rows and greatest updated_at. */
public record ReadResult(Snapshot snapshot, Instant snapshotTime, List<TableResult> tables) {

    public ReadResult {
        tables = List.copyOf(tables);
    }

    public long rows() {
        return tables.stream().mapToLong(TableResult::rows).sum();
    }

    /**
     * @param maxUpdatedAt  the greatest updated_at exported (tables with the seed's columns); empty for other
     *                      tables or when no row was exported
     * @param seedSemantics whether the table has the seed's is_deleted, created_at and updated_at
     * @param columns       the file's columns, with their PostgreSQL types
     * @param operations    a delta's rows by operation (INSERT, UPDATE, DELETE), counted in the same snapshot;
     *                      empty for other exports
     */
    public record TableResult(TableName table, long rows, Optional<Instant> maxUpdatedAt, boolean seedSemantics,
                              List<FileColumn> columns, Map<String, Long> operations) {
        public TableResult {
            columns = List.copyOf(columns);
            operations = Collections.unmodifiableMap(new LinkedHashMap<>(operations));
        }
    }
}
