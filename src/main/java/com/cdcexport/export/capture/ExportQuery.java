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
                .orElse("TRUE");
        return new ExportQuery(type, window);
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

    /** The greatest updated_at and the row count of the export, in one pass over the change window. */
    String summarySql() {
        return "SELECT max(updated_at), count(*) FROM (" + selection() + ") AS changes";
    }
}
