package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.ByteBuffers;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.DuckDbIcebergReader;

/**
 * An Iceberg table read three ways, compared value by value: DuckDB (its own parquet reader, the deletes applied by
 * {@link DuckDbIcebergReader} from the metadata and manifests), Iceberg's generic reader, and the live source table
 * through PostgreSQL, for a consumer with no rules. Values are compared as typed values, not as text: a decimal's
 * scale, a timestamptz's instant, a uuid, a binary's bytes, a double's NaN. The few places where the three differ by
 * representation only are mapped to one form, each said below.
 */
final class ThreeReaders {

    /** The extreme values the encoder writes for ±infinity, which DuckDB reads as ±infinity. */
    private static final Instant INFINITE = Instant.EPOCH.plus(Long.MAX_VALUE, ChronoUnit.MICROS);
    private static final Instant MINUS_INFINITE = Instant.EPOCH.plus(-Long.MAX_VALUE, ChronoUnit.MICROS);

    private ThreeReaders() {
    }

    /**
     * Asserts that DuckDB's view of the Iceberg table {@code namespace.name} equals Iceberg's generic reader's and
     * the live {@code source} table's (unless null); returns DuckDB's for the caller's own checks (files, types).
     */
    static DuckDbIcebergReader.Contents assertAgree(JdbcTemplate jdbc, Table table, String source) {
        String[] name = table.name().split("\\.");         // [catalog.]namespace.table
        DuckDbIcebergReader.Contents duck = DuckDbIcebergReader.read(DuckDbIcebergReader.metadataLocation(jdbc,
                name[name.length - 2], name[name.length - 1]));
        table.refresh();
        assertThat(duck.columns()).as("the schema DuckDB's reader took from the metadata JSON")
                .isEqualTo(table.schema().columns().stream().map(Types.NestedField::name).toList());
        assertThat(duck.key()).containsExactlyInAnyOrderElementsOf(table.schema().identifierFieldNames());
        Map<String, List<Object>> duckRows = new TreeMap<>();
        duck.byKey().forEach((k, row) -> duckRows.put(k, duck.columns().stream().map(c -> canonical(row.get(c)))
                .toList()));
        Map<String, List<Object>> icebergRows = iceberg(table, duck.key());
        assertThat(duckRows).as("DuckDB's view against Iceberg's reader's, columns %s", duck.columns())
                .isEqualTo(icebergRows);
        if (source != null) {
            assertThat(duckRows).as("DuckDB's view against the live table, columns %s", duck.columns())
                    .isEqualTo(live(jdbc, table, source, duck.key()));
        }
        return duck;
    }

    /** As {@link #assertAgree}, for a table another writer changed too: DuckDB's view against Iceberg's only. */
    static DuckDbIcebergReader.Contents assertDuckDbAgreesWithIceberg(JdbcTemplate jdbc, Table table) {
        return assertAgree(jdbc, table, null);
    }

    private static Map<String, List<Object>> iceberg(Table table, List<String> key) {
        Schema schema = table.schema();
        Map<String, List<Object>> rows = new TreeMap<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            for (Record r : records) {
                List<Object> values = schema.columns().stream().map(c -> canonical(r.getField(c.name()))).toList();
                String k = key.stream().map(c -> String.valueOf(keyValue(r.getField(c))))
                        .collect(Collectors.joining("/"));
                assertThat(rows.put(k, values)).as("Iceberg's reader read key %s once", k).isNull();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    /** The live table's rows in the Iceberg table's columns, each fetched as the Iceberg type's Java value. */
    private static Map<String, List<Object>> live(JdbcTemplate jdbc, Table table, String source, List<String> key) {
        Set<String> characterTypes = Set.of("text", "varchar", "bpchar");
        Map<String, String> pgTypes = new HashMap<>();
        jdbc.query("SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                + "WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                rs -> {
                    pgTypes.put(rs.getString(1), rs.getString(2));
                }, source);
        List<Types.NestedField> columns = table.schema().columns();
        // a string column of another type holds PostgreSQL's text form; char(n) keeps its padding (no cast)
        String select = columns.stream().map(c -> "\"" + c.name() + "\"" + (c.type().typeId() == Type.TypeID.STRING
                && !characterTypes.contains(pgTypes.get(c.name())) ? "::text" : "")).collect(Collectors.joining(", "));
        Map<String, List<Object>> rows = new TreeMap<>();
        jdbc.query("SELECT " + select + " FROM " + source, rs -> {
            List<Object> values = new ArrayList<>();
            Map<String, Object> byName = new HashMap<>();
            for (int i = 0; i < columns.size(); i++) {
                Type type = columns.get(i).type();
                Object value = switch (type.typeId()) {
                    case DECIMAL -> rs.getBigDecimal(i + 1);
                    case DATE -> rs.getObject(i + 1, LocalDate.class);
                    case TIMESTAMP -> ((Types.TimestampType) type).shouldAdjustToUTC()
                            ? rs.getObject(i + 1, OffsetDateTime.class) : rs.getObject(i + 1, LocalDateTime.class);
                    case BINARY -> rs.getBytes(i + 1);
                    case STRING -> rs.getString(i + 1);
                    default -> rs.getObject(i + 1);
                };
                values.add(canonical(value));
                byName.put(columns.get(i).name(), value);
            }
            rows.put(key.stream().map(c -> String.valueOf(keyValue(byName.get(c)))).collect(Collectors.joining("/")),
                    values);
        });
        return rows;
    }

    /** Keys as the DuckDB reader joins them: SMALLINT read as Short, the same number as the others' Integer. */
    private static Object keyValue(Object value) {
        return value instanceof Short s ? Integer.valueOf(s) : value;
    }

    /**
     * One form for a value the three readers give in different Java types: DuckDB reads the parquet INT(16) of a
     * smallint as SMALLINT (a Short; Iceberg's type is int); binaries as hex; instants for timestamptz; and
     * PostgreSQL's ±infinity (its drivers' MAX/MIN) as the extreme values the encoder writes for them.
     */
    static Object canonical(Object value) {
        if (value instanceof Short s) {
            return Integer.valueOf(s);
        }
        if (value instanceof ByteBuffer bytes) {
            return HexFormat.of().formatHex(ByteBuffers.toByteArray(bytes));
        }
        if (value instanceof byte[] bytes) {
            return HexFormat.of().formatHex(bytes);
        }
        if (value instanceof OffsetDateTime time) {
            Instant instant = time.equals(OffsetDateTime.MAX) ? INFINITE
                    : time.equals(OffsetDateTime.MIN) ? MINUS_INFINITE : time.toInstant();
            return instant.equals(INFINITE) ? "infinity" : instant.equals(MINUS_INFINITE) ? "-infinity" : instant;
        }
        if (value instanceof LocalDateTime time) {
            Instant instant = time.equals(LocalDateTime.MAX) ? INFINITE
                    : time.equals(LocalDateTime.MIN) ? MINUS_INFINITE : time.toInstant(ZoneOffset.UTC);
            return instant.equals(INFINITE) ? "infinity" : instant.equals(MINUS_INFINITE) ? "-infinity" : time;
        }
        if (value instanceof LocalDate day) {
            long epochDay = day.equals(LocalDate.MAX) ? Integer.MAX_VALUE
                    : day.equals(LocalDate.MIN) ? -Integer.MAX_VALUE : day.toEpochDay();
            return epochDay == Integer.MAX_VALUE ? "infinity" : epochDay == -Integer.MAX_VALUE ? "-infinity" : day;
        }
        return value;
    }
}
