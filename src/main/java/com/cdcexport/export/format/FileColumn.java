package com.cdcexport.export.format;

import com.cdcexport.sql.SqlText;

/**
 * One column of an export file as the format sees it.
 *
 * @param type     the PostgreSQL type as format_type() names it, e.g. {@code numeric(12,2)}
 * @param category pg_type.typcategory of the type (of a domain's base type): N numeric, S string, D date/time, ...
 * @param nullable whether the column may hold NULL in the file
 * @param mask     how its values were masked ({@code hmac-sha256}, {@code null}); null when they are the table's
 * @param attnum   the table column's number (pg_attribute.attnum), which a rename keeps; 0 for a column of no table
 */
public record FileColumn(String name, String type, String category, boolean nullable, String mask, int attnum) {

    /** An unmasked column of no table column. */
    public FileColumn(String name, String type, String category, boolean nullable) {
        this(name, type, category, nullable, null, 0);
    }

    /** The delta's first column. */
    public static final FileColumn OPERATION = new FileColumn("operation", "text", "S", false);

    /** The quoted identifier for SQL text. */
    public String sql() {
        return SqlText.identifier(name);
    }
}
