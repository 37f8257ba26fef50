package com.cdcexport.export.model;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportPlan.TablePlan;

/**
 * What one export read: the snapshot it read at (and when), and per table of its plan, in the plan's order, what it
 * streamed.
 *
 * @param readFrom the database it read: {@code primary}, or {@code standby-N} (DATABASE_READ_URL's N-th)
 */
public record ReadResult(Snapshot snapshot, Instant snapshotTime, String readFrom, List<TableResult> tables) {

    public ReadResult {
        tables = List.copyOf(tables);
    }

    public long rows() {
        return tables.stream().mapToLong(TableResult::rows).sum();
    }

    /**
     * @param plan          the table as planned
     * @param maxUpdatedAt  the greatest updated_at exported (tables with soft-delete columns); empty for other
     *                      tables or when no row was exported
     * @param softDeleteColumns whether the table has soft-delete columns: is_deleted, created_at and updated_at
     * @param columns       the file's columns, with their PostgreSQL types
     * @param operations    a delta's rows by operation (INSERT, UPDATE, DELETE), counted in the same snapshot;
     *                      empty for other exports
     */
    public record TableResult(TablePlan plan, long rows, Optional<Instant> maxUpdatedAt, boolean softDeleteColumns,
                              List<FileColumn> columns, Map<String, Long> operations) {
        public TableResult {
            columns = List.copyOf(columns);
            operations = Collections.unmodifiableMap(new LinkedHashMap<>(operations));
        }

        public TableName table() {
            return plan.table();
        }
    }
}
