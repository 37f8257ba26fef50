package com.cdcexport.sql;

import java.sql.SQLException;

import org.postgresql.core.Utils;

/**
 * Names and values written into SQL text, quoted by PgJDBC's own escaping (the driver's rules, not ours): for the
 * statements no bind parameter can serve, such as identifiers, COPY's query, and the literals of a trigger's body.
 */
public final class SqlText {

    private SqlText() {
    }

    /** {@code "name"}, with any {@code "} doubled. */
    public static String identifier(String name) {
        try {
            return Utils.escapeIdentifier(null, name).toString();
        } catch (SQLException e) {
            throw new IllegalArgumentException("Not a valid SQL identifier: " + e.getMessage(), e);
        }
    }

    /**
     * {@code 'value'}, with any {@code '} doubled: every session of the service runs with
     * standard_conforming_strings on (PostgreSQL's default, pinned in export transactions), so backslashes stay.
     */
    public static String literal(String value) {
        try {
            return "'" + Utils.escapeLiteral(null, value, true) + "'";
        } catch (SQLException e) {
            throw new IllegalArgumentException("Not a valid SQL string: " + e.getMessage(), e);
        }
    }
}
