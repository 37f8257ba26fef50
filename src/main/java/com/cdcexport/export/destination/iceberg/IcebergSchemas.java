package com.cdcexport.export.destination.iceberg;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.function.Consumer;

import org.apache.iceberg.Schema;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.format.ParquetColumn;

/**
 * The Iceberg schema of an export's columns, and how a table's schema follows its source's: by column number, a
 * column added or dropped (or no longer allowed to the consumer) is added or dropped, a column renamed is renamed
 * (its values stay), and a type widened the way Iceberg allows (int to long, float to double, a decimal's
 * precision) is widened; any other change stops the export with a message, since Iceberg cannot express it without
 * rewriting the table.
 */
final class IcebergSchemas {

    private IcebergSchemas() {
    }

    /** The Iceberg type of a column of the export, as its data files store it ({@link ParquetColumn#ofTable}). */
    static Type typeOf(FileColumn column) {
        ParquetColumn parquet = ParquetColumn.ofTable(column);
        return switch (parquet.kind()) {
            case INT16, INT32 -> Types.IntegerType.get();
            case INT64 -> Types.LongType.get();
            case FLOAT -> Types.FloatType.get();
            case DOUBLE -> Types.DoubleType.get();
            case BOOLEAN -> Types.BooleanType.get();
            case TIMESTAMPTZ -> Types.TimestampType.withZone();
            case TIMESTAMP -> Types.TimestampType.withoutZone();
            case DATE -> Types.DateType.get();
            case DECIMAL -> Types.DecimalType.of(parquet.precision(), parquet.scale());
            case STRING, TEXT_FORM -> Types.StringType.get();
            case UUID -> Types.UUIDType.get();
            case BINARY -> Types.BinaryType.get();
        };
    }

    /**
     * A new table's schema: the key columns required and its identifier fields, every other column optional (a
     * delta's rows of deleted keys leave them empty). Iceberg assigns the ids when it creates the table.
     */
    static Schema newSchema(List<FileColumn> columns, List<String> key) {
        List<Types.NestedField> fields = new ArrayList<>();
        Set<Integer> identifiers = new HashSet<>();
        int id = 1;
        for (FileColumn column : columns) {
            boolean isKey = key.contains(column.name());
            fields.add(isKey ? Types.NestedField.required(id, column.name(), typeOf(column))
                    : Types.NestedField.optional(id, column.name(), typeOf(column)));
            if (isKey) {
                identifiers.add(id);
            }
            id++;
        }
        return new Schema(fields, identifiers);
    }

    /**
     * The table property that records, for each field, the number of the source column it holds
     * ({@code fieldId:attnum,…}). A column keeps its number when it is renamed, and a column dropped and added again
     * under the same name gets a new one, so the number, not the name, says which field a column is.
     */
    static final String SOURCE_COLUMNS = "cdc.source-attnums";

    /** What {@link #SOURCE_COLUMNS} says: field id to source column number; empty when not recorded. */
    static Map<Integer, Integer> recorded(Map<String, String> properties) {
        Map<Integer, Integer> attnums = new HashMap<>();
        String value = properties.getOrDefault(SOURCE_COLUMNS, "");
        for (String pair : value.split(",")) {
            int colon = pair.indexOf(':');
            if (colon > 0) {
                attnums.put(Integer.parseInt(pair.substring(0, colon)), Integer.parseInt(pair.substring(colon + 1)));
            }
        }
        return attnums;
    }

    /** {@link #SOURCE_COLUMNS}'s value for {@code schema} holding {@code columns}. */
    static String sourceColumns(Schema schema, List<FileColumn> columns) {
        StringJoiner value = new StringJoiner(",");
        for (FileColumn column : columns) {
            value.add(schema.findField(column.name()).fieldId() + ":" + column.attnum());
        }
        return value.toString();
    }

    /**
     * The changes that make {@code current} fit the export's columns, as one update to apply (to preview the
     * resulting ids, then again inside the commit); nothing when it fits already. A column is the field recorded
     * with its number (renamed if its name changed); without a record (a table written before numbers were kept)
     * it is the field of its name.
     *
     * @param recorded {@link #recorded} of the table
     * @throws IllegalStateException for a change Iceberg cannot make in place (the message says what to do)
     */
    static Consumer<UpdateSchema> evolution(String table, Schema current, Map<Integer, Integer> recorded,
                                            List<FileColumn> columns, List<String> key) {
        Map<Integer, Integer> fieldOfAttnum = new HashMap<>();
        recorded.forEach((field, attnum) -> fieldOfAttnum.put(attnum, field));
        List<Consumer<UpdateSchema>> steps = new ArrayList<>();
        Set<Integer> kept = new HashSet<>();
        Set<Integer> keyFields = new HashSet<>();
        List<FileColumn> added = new ArrayList<>();
        for (FileColumn column : columns) {
            Type type = typeOf(column);
            Types.NestedField existing = recorded.isEmpty() ? current.findField(column.name())
                    : Optional.ofNullable(fieldOfAttnum.get(column.attnum())).map(current::findField).orElse(null);
            if (existing == null) {
                if (key.contains(column.name())) {
                    throw new IllegalStateException("The key of " + table + " changed (new key column "
                            + column.name() + "): its Iceberg table cannot follow; drop it and run a full export");
                }
                added.add(column);
                continue;
            }
            kept.add(existing.fieldId());
            if (key.contains(column.name())) {
                keyFields.add(existing.fieldId());
            }
            if (!existing.name().equals(column.name())) {
                steps.add(update -> update.renameColumn(existing.name(), column.name()));
            }
            if (!existing.type().equals(type)) {
                if (!widens(existing.type(), type)) {
                    throw new IllegalStateException("Column " + column.name() + " of " + table + " changed from "
                            + existing.type() + " to " + type + ", which Iceberg cannot change in place; drop the "
                            + "Iceberg table and run a full export");
                }
                steps.add(update -> update.updateColumn(existing.name(), type.asPrimitiveType()));
            }
        }
        if (!keyFields.equals(current.identifierFieldIds()) || keyFields.size() != key.size()) {
            throw new IllegalStateException("The key of " + table + " changed from " + current.identifierFieldNames()
                    + " to " + key + ": its Iceberg table cannot follow; drop it and run a full export");
        }
        for (Types.NestedField field : current.columns()) {
            if (!kept.contains(field.fieldId())) {
                // Deleted first: a column added again under the same name is another field.
                steps.add(0, update -> update.deleteColumn(field.name()));
            }
        }
        for (FileColumn column : added) {
            steps.add(update -> update.addColumn(column.name(), typeOf(column)));
        }
        if (steps.isEmpty()) {
            return null;
        }
        return update -> steps.forEach(step -> step.accept(update));
    }

    /** The promotions Iceberg allows: int to long, float to double, a decimal to more digits at the same scale. */
    static boolean widens(Type from, Type to) {
        if (from instanceof Types.IntegerType && to instanceof Types.LongType) {
            return true;
        }
        if (from instanceof Types.FloatType && to instanceof Types.DoubleType) {
            return true;
        }
        return from instanceof Types.DecimalType a && to instanceof Types.DecimalType b
                && a.scale() == b.scale() && b.precision() >= a.precision();
    }
}
