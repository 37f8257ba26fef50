package com.cdcexport.export.capture;

import java.util.Optional;

import com.cdcexport.export.ExportType;

/**
 * The one place that decides which rows an export type selects and how they look in the file.
 *
 * <p>A change window is "visible in the export's snapshot S, not visible in the consumer's previous snapshot P".
 * S is implicit (the query runs inside S); P narrows the rows with an index range on change_xid and a cheap filter.
 * Without P (no watermark yet, or a full export) the window is everything S sees.
 */
final class ExportQuery {

    private static final String TIMESTAMP = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";
    private static final String FORMATTED_COLUMNS = "id, name, email, "
            + "to_char(created_at AT TIME ZONE 'UTC', " + TIMESTAMP + ") AS created_at, "
            + "to_char(updated_at AT TIME ZONE 'UTC', " + TIMESTAMP + ") AS updated_at, "
            + "is_deleted::text AS is_deleted";

    private static final String WHOLE_TABLE = "TRUE";

    private final ExportType type;
    private final String changeWindow;

    private ExportQuery(ExportType type, String changeWindow) {
        this.type = type;
        this.changeWindow = changeWindow;
    }

    static ExportQuery of(ExportType type, Optional<Snapshot> since) {
        String window = since.filter(p -> type != ExportType.FULL)
                .map(p -> "change_xid >= pg_snapshot_xmin(" + p.sqlLiteral() + ")"
                        + " AND NOT pg_visible_in_snapshot(change_xid, " + p.sqlLiteral() + ")")
                .orElse(WHOLE_TABLE);
        return new ExportQuery(type, window);
    }

    /**
     * Full exports (and a first incremental) read every live row. Counting them first would be a second pass over
     * the table, about 5% of the export; instead the greatest updated_at comes from the updated_at index (a
     * backward scan that stops at the first live row), the row count from COPY itself, and the progress total is
     * the planner's estimate until the job completes.
     */
    boolean readsWholeTable() {
        return type != ExportType.DELTA && changeWindow.equals(WHOLE_TABLE);
    }

    /** The rows of the export, unformatted, with the columns every other statement builds on. */
    private String selection() {
        return switch (type) {
            case FULL, INCREMENTAL -> "SELECT id, name, email, created_at, updated_at, is_deleted, change_xid"
                    + " FROM users WHERE NOT is_deleted AND " + changeWindow;
            // Soft-deleted rows and tombstones of hard-deleted rows both leave as DELETE.
            case DELTA -> "SELECT CASE WHEN is_deleted THEN 'DELETE' WHEN created_at = updated_at THEN 'INSERT'"
                    + " ELSE 'UPDATE' END AS operation, id, name, email, created_at, updated_at, is_deleted, change_xid"
                    + " FROM users WHERE " + changeWindow
                    + " UNION ALL SELECT 'DELETE', user_id, name, email, created_at, deleted_at, TRUE, change_xid"
                    + " FROM user_tombstones WHERE " + changeWindow;
        };
    }

    /** COPY ... TO STDOUT: PostgreSQL renders and quotes the CSV (RFC 4180) itself, at server speed. */
    String copySql() {
        boolean delta = type == ExportType.DELTA;
        String columns = delta ? "operation, " + FORMATTED_COLUMNS : FORMATTED_COLUMNS;
        // In a delta one id can appear twice (a hard delete, then a re-insert): change_xid keeps them in the order
        // they happened. Elsewhere ids are unique, and ordering by id alone lets the primary key supply the order.
        String order = delta ? "id, change_xid" : "id";
        return "COPY (SELECT " + columns + " FROM (" + selection() + ") AS changes ORDER BY " + order + ")"
                + " TO STDOUT WITH (FORMAT csv, HEADER)";
    }

    /**
     * The greatest updated_at and the row count of the export: in one pass over the change window, or for a whole
     * table (see {@link #readsWholeTable()}) the index-backed maximum and no count.
     */
    String summarySql() {
        return readsWholeTable() ? "SELECT max(updated_at), NULL FROM users WHERE NOT is_deleted"
                : "SELECT max(updated_at), count(*) FROM (" + selection() + ") AS changes";
    }

    /** The planner's row estimate for the export's rows, in EXPLAIN's JSON ("Plan Rows"). */
    String estimateSql() {
        return "EXPLAIN (FORMAT JSON) " + selection();
    }
}
