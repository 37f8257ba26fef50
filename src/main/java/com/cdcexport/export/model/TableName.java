package com.cdcexport.export.model;

import java.util.Optional;
import java.util.regex.Pattern;

import com.cdcexport.sql.SqlText;

/**
 * A user's table as the API and settings name it: {@code [schema.]table}, the schema {@code public} when omitted.
 * Names are plain identifiers (letters, digits, _ and $, not starting with a digit), matched case-sensitively
 * against the catalog, so nothing but a catalog name can ever reach SQL; {@link #sql()} quotes them anyway.
 */
public record TableName(String schema, String table) {

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");
    public static final TableName USERS = new TableName("public", "users");

    public TableName {
        if (schema == null || !IDENTIFIER.matcher(schema).matches() || table == null
                || !IDENTIFIER.matcher(table).matches()) {
            throw new IllegalArgumentException("Not a table name: " + schema + "." + table);
        }
    }

    /** @return empty when {@code text} is not {@code [schema.]table} of plain identifiers */
    public static Optional<TableName> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String trimmed = text.strip();
        int dot = trimmed.indexOf('.');
        String schema = dot < 0 ? "public" : trimmed.substring(0, dot);
        String table = dot < 0 ? trimmed : trimmed.substring(dot + 1);
        if (!IDENTIFIER.matcher(schema).matches() || !IDENTIFIER.matcher(table).matches()) {
            return Optional.empty();
        }
        return Optional.of(new TableName(schema, table));
    }

    /** {@code schema.table}: how jobs, watermarks, files and the API name the table. */
    public String qualified() {
        return schema + "." + table;
    }

    /** The quoted identifier for SQL text. */
    public String sql() {
        return SqlText.identifier(schema) + "." + SqlText.identifier(table);
    }

    /** The seed's own table keeps the seed's file names. */
    public boolean isUsers() {
        return equals(USERS);
    }

    @Override
    public String toString() {
        return qualified();
    }
}
