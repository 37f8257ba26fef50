package com.cdcexport.export.format;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.LogicalTypeAnnotation.TimeUnit;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Type.Repetition;
import org.apache.parquet.schema.Types;

/**
 * One column of a parquet file: its parquet type, chosen from the PostgreSQL type, and how a value of it is read
 * from COPY's binary form. Types without a faithful parquet counterpart travel as strings in PostgreSQL's text
 * form (the CSV's): uuid, json, arrays, intervals, times, unconstrained numeric, ...
 */
public record ParquetColumn(String name, Kind kind, boolean nullable, int precision, int scale) {

    /**
     * STRING: a string type, whose binary form is its text; TEXT_FORM: any other type, sent cast to text. UUID and
     * BINARY (bytea) only in a table's files ({@link #ofTable}): parquet files for download keep them as text.
     */
    public enum Kind {
        INT16, INT32, INT64, FLOAT, DOUBLE, BOOLEAN, TIMESTAMPTZ, TIMESTAMP, DATE, DECIMAL, STRING, TEXT_FORM, UUID,
        BINARY
    }

    private static final Pattern TIMESTAMP = Pattern.compile("timestamp(\\(\\d\\))? with(out)? time zone");
    private static final Pattern NUMERIC = Pattern.compile("numeric\\((\\d+),(-?\\d+)\\)");
    /** Parquet's DECIMAL holds at most 38 digits in 16 bytes. */
    private static final int MAX_DECIMAL_PRECISION = 38;
    /** PostgreSQL counts from 2000-01-01, parquet from 1970-01-01. */
    private static final long EPOCH_SHIFT_MICROS = 946_684_800_000_000L;
    private static final int EPOCH_SHIFT_DAYS = 10_957;

    /**
     * A column of a table format's data file (Iceberg): as {@link #of}, but uuid and bytea keep their own types (16
     * bytes, raw bytes), sent in COPY's binary form.
     */
    public static ParquetColumn ofTable(FileColumn column) {
        return switch (column.type()) {
            case "uuid" -> new ParquetColumn(column.name(), Kind.UUID, column.nullable(), 0, 0);
            case "bytea" -> new ParquetColumn(column.name(), Kind.BINARY, column.nullable(), 0, 0);
            default -> of(column);
        };
    }

    public static ParquetColumn of(FileColumn column) {
        String type = column.type();
        Matcher timestamp = TIMESTAMP.matcher(type);
        Matcher numeric = NUMERIC.matcher(type);
        Kind kind = switch (type) {
            case "smallint" -> Kind.INT16;
            case "integer" -> Kind.INT32;
            case "bigint" -> Kind.INT64;
            case "real" -> Kind.FLOAT;
            case "double precision" -> Kind.DOUBLE;
            case "boolean" -> Kind.BOOLEAN;
            case "date" -> Kind.DATE;
            default -> timestamp.matches() ? (timestamp.group(2) == null ? Kind.TIMESTAMPTZ : Kind.TIMESTAMP)
                    // char(n) keeps its padding this way, as in the CSV (a cast to text would drop it)
                    : column.category().equals("S") ? Kind.STRING : Kind.TEXT_FORM;
        };
        if (numeric.matches()) {
            int precision = Integer.parseInt(numeric.group(1));
            int scale = Integer.parseInt(numeric.group(2));
            if (precision <= MAX_DECIMAL_PRECISION && scale >= 0 && scale <= precision) {
                return new ParquetColumn(column.name(), Kind.DECIMAL, column.nullable(), precision, scale);
            }
        }
        return new ParquetColumn(column.name(), kind, column.nullable(), 0, 0);
    }

    /** Binary COPY sends these types' own binary forms; every other column is sent as text. */
    String render(String value) {
        return kind == Kind.TEXT_FORM || kind == Kind.DECIMAL ? "(" + value + ")::text" : value;
    }

    Type type() {
        Repetition repetition = nullable ? Repetition.OPTIONAL : Repetition.REQUIRED;
        return switch (kind) {
            case INT16 -> Types.primitive(PrimitiveTypeName.INT32, repetition)
                    .as(LogicalTypeAnnotation.intType(16, true)).named(name);
            case INT32 -> Types.primitive(PrimitiveTypeName.INT32, repetition).named(name);
            case INT64 -> Types.primitive(PrimitiveTypeName.INT64, repetition).named(name);
            case FLOAT -> Types.primitive(PrimitiveTypeName.FLOAT, repetition).named(name);
            case DOUBLE -> Types.primitive(PrimitiveTypeName.DOUBLE, repetition).named(name);
            case BOOLEAN -> Types.primitive(PrimitiveTypeName.BOOLEAN, repetition).named(name);
            case TIMESTAMPTZ, TIMESTAMP -> Types.primitive(PrimitiveTypeName.INT64, repetition)
                    .as(LogicalTypeAnnotation.timestampType(kind == Kind.TIMESTAMPTZ, TimeUnit.MICROS)).named(name);
            case DATE -> Types.primitive(PrimitiveTypeName.INT32, repetition)
                    .as(LogicalTypeAnnotation.dateType()).named(name);
            case DECIMAL -> decimalType(repetition);
            case STRING, TEXT_FORM -> Types.primitive(PrimitiveTypeName.BINARY, repetition)
                    .as(LogicalTypeAnnotation.stringType()).named(name);
            case UUID -> Types.primitive(PrimitiveTypeName.FIXED_LEN_BYTE_ARRAY, repetition).length(16)
                    .as(LogicalTypeAnnotation.uuidType()).named(name);
            case BINARY -> Types.primitive(PrimitiveTypeName.BINARY, repetition).named(name);
        };
    }

    private Type decimalType(Repetition repetition) {
        LogicalTypeAnnotation decimal = LogicalTypeAnnotation.decimalType(scale, precision);
        if (precision <= 9) {
            return Types.primitive(PrimitiveTypeName.INT32, repetition).as(decimal).named(name);
        }
        if (precision <= 18) {
            return Types.primitive(PrimitiveTypeName.INT64, repetition).as(decimal).named(name);
        }
        return Types.primitive(PrimitiveTypeName.FIXED_LEN_BYTE_ARRAY, repetition).length(decimalBytes())
                .as(decimal).named(name);
    }

    /** By precision: the fewest bytes whose two's complement holds every value of it. */
    private static final int[] DECIMAL_BYTES = new int[MAX_DECIMAL_PRECISION + 1];

    static {
        for (int p = 1; p <= MAX_DECIMAL_PRECISION; p++) {
            int bytes = 1;
            while (BigInteger.TWO.pow(8 * bytes - 1).compareTo(BigInteger.TEN.pow(p)) < 0) {
                bytes++;
            }
            DECIMAL_BYTES[p] = bytes;
        }
    }

    private int decimalBytes() {
        return DECIMAL_BYTES[precision];
    }

    /** A numeric's NaN has no DECIMAL value: it is written as NULL. */
    boolean isNull(byte[] b, int off, int len) {
        return len < 0 || (kind == Kind.DECIMAL && len == 3 && b[off] == 'N');
    }

    /** Writes one non-null value, given in COPY's binary form. */
    void write(RecordConsumer out, byte[] b, int off, int len) {
        switch (kind) {
            case INT16 -> out.addInteger((short) ((b[off] << 8) | (b[off + 1] & 0xff)));
            case INT32 -> out.addInteger(int32(b, off));
            case INT64 -> out.addLong(int64(b, off));
            case FLOAT -> out.addFloat(Float.intBitsToFloat(int32(b, off)));
            case DOUBLE -> out.addDouble(Double.longBitsToDouble(int64(b, off)));
            case BOOLEAN -> out.addBoolean(b[off] != 0);
            // Parquet has no infinity: ±infinity become the extreme values, the ones DuckDB reads as ±infinity.
            case TIMESTAMPTZ, TIMESTAMP -> {
                long micros = int64(b, off);
                out.addLong(micros == Long.MAX_VALUE ? Long.MAX_VALUE : micros == Long.MIN_VALUE ? -Long.MAX_VALUE
                        : micros + EPOCH_SHIFT_MICROS);
            }
            case DATE -> {
                int days = int32(b, off);
                out.addInteger(days == Integer.MAX_VALUE ? Integer.MAX_VALUE
                        : days == Integer.MIN_VALUE ? -Integer.MAX_VALUE : days + EPOCH_SHIFT_DAYS);
            }
            case DECIMAL -> writeDecimal(out, new BigDecimal(new String(b, off, len, StandardCharsets.US_ASCII)));
            case STRING, TEXT_FORM, BINARY, UUID -> out.addBinary(Binary.fromReusedByteArray(b, off, len));
        }
    }

    private void writeDecimal(RecordConsumer out, BigDecimal value) {
        BigInteger unscaled = value.setScale(scale).unscaledValue();
        if (precision <= 9) {
            out.addInteger(unscaled.intValueExact());
        } else if (precision <= 18) {
            out.addLong(unscaled.longValueExact());
        } else {
            byte[] minimal = unscaled.toByteArray();
            byte[] fixed = new byte[decimalBytes()];
            byte pad = (byte) (unscaled.signum() < 0 ? 0xff : 0);
            int start = fixed.length - minimal.length;
            for (int i = 0; i < start; i++) {
                fixed[i] = pad;
            }
            System.arraycopy(minimal, 0, fixed, start, minimal.length);
            out.addBinary(Binary.fromConstantByteArray(fixed));
        }
    }

    static int int32(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    static long int64(byte[] b, int off) {
        return ((long) int32(b, off) << 32) | (int32(b, off + 4) & 0xffffffffL);
    }
}
