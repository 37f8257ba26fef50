package com.cdcexport.export.read;

import java.util.Optional;

import com.cdcexport.sql.SqlText;

/**
 * The rows of one chunk of an export: those whose first key column lies in {@code [from, until)}, either end open.
 * Bounds are the column's values in PostgreSQL's text form, compared with the column's own ordering (and
 * collation), which is the ordering of the export's {@code ORDER BY}: chunks in bound order are the file in order.
 */
record KeyRange(Optional<String> from, Optional<String> until) {

    /** The whole table: no predicate at all, which is what the serial export runs. */
    static final KeyRange ALL = new KeyRange(Optional.empty(), Optional.empty());

    boolean isAll() {
        return from.isEmpty() && until.isEmpty();
    }

    /** The predicate on {@code column} of type {@code type}, written as a text literal cast to the column's type. */
    String predicate(String column, String type) {
        String lower = from.map(v -> column + " >= " + SqlText.literal(v) + "::" + type).orElse("TRUE");
        return until.map(v -> lower + " AND " + column + " < " + SqlText.literal(v) + "::" + type).orElse(lower);
    }
}
