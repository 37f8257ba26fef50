package com.cdcexport.export.model;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import com.cdcexport.sql.SqlText;

/**
 * A table's columns as they are in the export's snapshot, read at every export: a column added, dropped, renamed
 * or retyped since the last export simply shows in the next file's header.
 */
public record TableShape(TableName name, long relid, List<Column> columns, List<Column> key, boolean keyChanged) {

    /** One column; {@code category} is pg_type.typcategory (N numeric, B boolean, S string, D date/time, ...). */
    /** @param attnum the column's number in the table: it stays when the column is renamed, a new column gets a new one */
    public record Column(String name, String type, String category, int keyPosition, boolean notNull, int attnum) {

        public String sql() {
            return SqlText.identifier(name);
        }

        public boolean isKey() {
            return keyPosition > 0;
        }
    }

    /** @return empty when the table no longer exists */
    public static Optional<TableShape> read(Connection connection, String schema, TableName table) throws SQLException {
        Long relid = null;
        boolean keyChanged = false;
        try (PreparedStatement statement = connection.prepareStatement(String.format(Locale.ROOT, """
                SELECT c.oid::bigint,
                       ct.key_attnums IS DISTINCT FROM (SELECT array_agg(k.attnum ORDER BY k.ord)
                                                          FROM pg_index i, unnest(i.indkey::int2[])
                                                               WITH ORDINALITY AS k(attnum, ord)
                                                         WHERE i.indrelid = c.oid AND i.indisprimary)
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  LEFT JOIN %s.captured_tables ct ON ct.relid = c.oid
                 WHERE n.nspname = ? AND c.relname = ?""", SqlText.identifier(schema)))) {
            statement.setString(1, table.schema());
            statement.setString(2, table.table());
            try (ResultSet rs = statement.executeQuery()) {
                if (rs.next()) {
                    relid = rs.getLong(1);
                    keyChanged = rs.getBoolean(2);
                }
            }
        }
        if (relid == null) {
            return Optional.empty();
        }
        List<Column> columns = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement("""
                SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                       (SELECT typcategory::text FROM pg_type WHERE oid = coalesce(nullif(t.typbasetype, 0), t.oid)),
                       coalesce((SELECT k.ord FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                                  WHERE k.attnum = a.attnum), 0),
                       a.attnotnull, a.attnum
                  FROM pg_attribute a
                  JOIN pg_type t ON t.oid = a.atttypid
                  LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                 WHERE a.attrelid = ?::oid AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY a.attnum""")) {
            statement.setLong(1, relid);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.add(new Column(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4),
                            rs.getBoolean(5), rs.getInt(6)));
                }
            }
        }
        List<Column> key = columns.stream().filter(Column::isKey)
                .sorted(Comparator.comparingInt(Column::keyPosition)).toList();
        return Optional.of(new TableShape(table, relid, List.copyOf(columns), key, keyChanged));
    }

    Optional<Column> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /**
     * Soft-delete columns, as the users table has them: soft deletes through is_deleted and an operation told by created_at = updated_at.
     */
    public boolean hasSoftDeleteColumns() {
        return column("is_deleted").filter(c -> c.type().equals("boolean")).isPresent()
                && column("created_at").filter(c -> c.category().equals("D")).isPresent()
                && column("updated_at").filter(c -> c.category().equals("D")).isPresent();
    }
}
