package com.cdcexport.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.SnapshotUtil;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.config.DatabaseUrl;
import com.cdcexport.export.destination.iceberg.LocalFileIO;

/**
 * The Iceberg tables a service process wrote, read back from outside it the way another engine reads them:
 * Iceberg's own JDBC catalog over the service's catalog rows, Iceberg's generic reader over the files (so
 * equality deletes are applied by Iceberg, not by us). Rows are compared with the database's as key → values,
 * every column of the Iceberg table's schema rendered the same way on both sides.
 */
public final class IcebergTables {

    /** The service's catalog name (IcebergCatalog.NAME): the catalog_name of its rows. */
    private static final String CATALOG = "cdc";

    private IcebergTables() {
    }

    /** The table {@code namespace.name} as it is committed now; empty when the catalog has no such table. */
    public static Optional<Table> load(Path warehouse, String name) {
        JdbcCatalog catalog = new JdbcCatalog();
        Map<String, String> properties = jdbcCatalog(TestDatabase.SCHEMA);
        // A reader: the service's migrations made the catalog's tables.
        properties.put("jdbc.init-catalog-tables", "false");
        properties.put("io-impl", LocalFileIO.class.getName());
        properties.put("warehouse", warehouse.toUri().toString());
        catalog.initialize(CATALOG, properties);
        try {
            TableIdentifier identifier = TableIdentifier.parse(name);
            return catalog.tableExists(identifier) ? Optional.of(catalog.loadTable(identifier)) : Optional.empty();
        } finally {
            catalog.close();
        }
    }

    /**
     * The properties of Iceberg's JDBC catalog over the test database's schema {@code schema} (its URI, user and
     * password, the layout of the catalog's tables), to which a caller adds the warehouse and FileIO.
     */
    public static Map<String, String> jdbcCatalog(String schema) {
        Map<String, String> properties = new HashMap<>();
        DatabaseUrl url = DatabaseUrl.parse(TestDatabase.url());
        properties.put("uri", url.jdbcUrl() + (url.jdbcUrl().contains("?") ? "&" : "?") + "currentSchema=" + schema);
        if (url.username() != null) {
            properties.put("jdbc.user", url.username());
        }
        if (url.password() != null) {
            properties.put("jdbc.password", url.password());
        }
        properties.put("jdbc.schema-version", "V1");
        return properties;
    }

    /** The table's committed snapshots from its first to its current one (empty before its first commit). */
    public static List<Snapshot> lineage(Table table) {
        if (table.currentSnapshot() == null) {
            return List.of();
        }
        List<Snapshot> snapshots = new ArrayList<>();
        SnapshotUtil.ancestorsOf(table.currentSnapshot().snapshotId(), table::snapshot).forEach(snapshots::add);
        Collections.reverse(snapshots);
        return snapshots;
    }

    /** What an Iceberg table holds: key → values, and how many rows repeated a key read before. */
    public record Contents(Map<String, String> rows, long duplicated) {
    }

    /** Every row of the table's current snapshot, deletes applied, read by Iceberg's generic reader. */
    public static Contents read(Table table) {
        Schema schema = table.schema();
        List<String> columns = schema.columns().stream().map(Types.NestedField::name).toList();
        List<String> key = keyOf(schema);
        Map<String, String> rows = new HashMap<>();
        long duplicated = 0;
        if (table.currentSnapshot() == null) {
            return new Contents(rows, 0);
        }
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            for (Record record : records) {
                String values = columns.stream().map(c -> render(record.getField(c)))
                        .collect(Collectors.joining("|"));
                String k = key.stream().map(c -> render(record.getField(c))).collect(Collectors.joining("/"));
                if (rows.put(k, values) != null) {
                    duplicated++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Contents(rows, duplicated);
    }

    /**
     * The rows of {@code from} (a table or a subquery with its alias, and any WHERE) in the Iceberg table's
     * shape: the columns of its schema, keyed by its identifier fields, rendered as {@link #read} renders them.
     */
    public static Map<String, String> query(JdbcTemplate jdbc, Table table, String from, Object... parameters) {
        Schema schema = table.schema();
        List<String> columns = schema.columns().stream().map(Types.NestedField::name).toList();
        List<String> key = keyOf(schema);
        String sql = "SELECT " + columns.stream().map(c -> "\"" + c + "\"").collect(Collectors.joining(", "))
                + " FROM " + from;
        return jdbc.query(sql, rs -> {
            Map<String, String> rows = new HashMap<>();
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (int i = 1; i <= columns.size(); i++) {
                    values.add(render(value(rs, i)));
                }
                String k = key.stream().map(c -> values.get(columns.indexOf(c))).collect(Collectors.joining("/"));
                rows.put(k, String.join("|", values));
            }
            return rows;
        }, parameters);
    }

    /**
     * How an Iceberg table differs from the rows it should hold, in the soak's terms: a row of {@code expected}
     * missing or with other values is lost, a row read twice duplicated, a key that should not be there phantom.
     */
    public record Difference(long lost, long duplicated, long phantom, List<String> examples) {

        public boolean none() {
            return lost + duplicated + phantom == 0;
        }

        @Override
        public String toString() {
            return "lost=" + lost + " duplicated=" + duplicated + " phantom=" + phantom + " e.g. " + examples;
        }
    }

    public static Difference compare(Contents iceberg, Map<String, String> expected) {
        List<String> examples = new ArrayList<>();
        long lost = 0;
        for (Map.Entry<String, String> row : expected.entrySet()) {
            String held = iceberg.rows().get(row.getKey());
            if (!row.getValue().equals(held)) {
                lost++;
                if (examples.size() < 5) {
                    examples.add("key " + row.getKey() + ": expected " + row.getValue() + ", Iceberg " + held);
                }
            }
        }
        long phantom = 0;
        for (String k : iceberg.rows().keySet()) {
            if (!expected.containsKey(k)) {
                phantom++;
                if (examples.size() < 5) {
                    examples.add("key " + k + ": not expected, Iceberg " + iceberg.rows().get(k));
                }
            }
        }
        return new Difference(lost, iceberg.duplicated(), phantom, examples);
    }

    private static List<String> keyOf(Schema schema) {
        List<String> key = schema.identifierFieldIds().stream().sorted().map(id -> schema.findField(id).name())
                .toList();
        if (key.isEmpty()) {
            throw new IllegalStateException("the Iceberg table has no identifier fields: " + schema);
        }
        return key;
    }

    private static Object value(ResultSet rs, int column) throws SQLException {
        ResultSetMetaData meta = rs.getMetaData();
        if (meta.getColumnTypeName(column).equals("timestamptz")) {
            return rs.getObject(column, OffsetDateTime.class);
        }
        return rs.getObject(column);
    }

    /** One rendering for the database's and Iceberg's values: instants for timestamptz, plain decimals. */
    private static String render(Object value) {
        if (value instanceof OffsetDateTime time) {
            return time.toInstant().toString();
        }
        if (value instanceof BigDecimal decimal) {
            return decimal.toPlainString();
        }
        return String.valueOf(value);
    }
}
