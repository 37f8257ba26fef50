package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.MetadataColumns;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.apache.parquet.io.api.Binary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.cdcexport.export.format.FileColumn;

/**
 * Upkeep's rewrite of a table that deltas gave many equality-delete files: the live rows of its current snapshot
 * (each data file's rows less those its deletes remove) become new data files, written by the export's own encoder
 * (see {@link TableChanges#rewriteOf}), which replace every data and delete file of that snapshot in one commit.
 * See docs/iceberg.md, "Upkeep".
 *
 * <p>Exports go on meanwhile. The new files take the data sequence number of the snapshot read, so the equality
 * deletes of an export committed since (a higher number) still apply to them, and Iceberg validates the rewrite
 * from that snapshot: a file it replaces that is gone (a full export) or that got position deletes refuses the
 * commit, and the rewrite's files are removed, to be tried again at the next upkeep.
 *
 * <p>Memory: the deleted keys are held in a map, at most {@code keysInMemory} of them. With more, the rewrite makes
 * several passes over the files, each for the keys of one hash partition, so the map stays within its budget and
 * rows stream from reader to writer (one row group of each at a time).
 */
final class IcebergCompaction {

    private static final Logger log = LoggerFactory.getLogger(IcebergCompaction.class);
    static final String UPKEEP = "cdc.upkeep";
    private static final byte[] COPY_HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0,
        0, 0, 0, 0, 0, 0, 0, 0};
    private static final long EPOCH_SHIFT_MICROS = 946_684_800_000_000L;
    private static final int EPOCH_SHIFT_DAYS = 10_957;

    private final int deleteFilesThreshold;
    private final int keysInMemory;

    /**
     * @param deleteFilesThreshold a table is rewritten once its current snapshot has this many delete files; 0 never
     * @param keysInMemory         the deleted keys one pass holds
     */
    IcebergCompaction(int deleteFilesThreshold, int keysInMemory) {
        this.deleteFilesThreshold = deleteFilesThreshold;
        this.keysInMemory = keysInMemory;
    }

    /** What a rewrite replaced, or why it did not. */
    record Outcome(boolean committed, int dataFilesRemoved, int deleteFilesRemoved, int dataFilesAdded, long rows,
                   int passes, String reason) {

        static Outcome skipped(String reason) {
            return new Outcome(false, 0, 0, 0, 0, 0, reason);
        }
    }

    /** Whether the table's current snapshot has reached the threshold. */
    boolean due(Table table) {
        Snapshot current = table.currentSnapshot();
        if (deleteFilesThreshold == 0 || current == null) {
            return false;
        }
        String deletes = current.summary().get("total-delete-files");
        return deletes != null && Long.parseLong(deletes) >= deleteFilesThreshold;
    }

    /** Rewrites the table's current snapshot, as a hook lets a test act between the read and the commit. */
    Outcome rewrite(Table table, Runnable beforeCommit) {
        Snapshot start = table.currentSnapshot();
        Schema schema = table.schema();
        List<Integer> keyIds = new ArrayList<>(schema.identifierFieldIds());
        keyIds.sort(null);
        if (start == null || keyIds.isEmpty()) {
            return Outcome.skipped("no snapshot or no identifier fields");
        }
        List<DataFile> data = new ArrayList<>();
        List<DeleteFile> equality = new ArrayList<>();
        List<DeleteFile> positions = new ArrayList<>();
        try {
            for (ManifestFile manifest : start.dataManifests(table.io())) {
                try (ManifestReader<DataFile> files = ManifestFiles.read(manifest, table.io(), table.specs())) {
                    files.forEach(file -> data.add(file.copyWithoutStats()));
                }
            }
            for (ManifestFile manifest : start.deleteManifests(table.io())) {
                try (ManifestReader<DeleteFile> files = ManifestFiles.readDeleteManifest(manifest, table.io(),
                        table.specs())) {
                    for (DeleteFile file : files) {
                        if (file.format() != FileFormat.PARQUET) {
                            return Outcome.skipped("a delete file in " + file.format());
                        }
                        if (file.content() == FileContent.EQUALITY_DELETES) {
                            if (!new HashSet<>(file.equalityFieldIds()).equals(new HashSet<>(keyIds))) {
                                return Outcome.skipped("equality deletes by other fields than the key");
                            }
                            equality.add(file.copyWithoutStats());
                        } else {
                            positions.add(file.copyWithoutStats());
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (DataFile file : data) {
            if (file.format() != FileFormat.PARQUET) {
                return Outcome.skipped("a data file in " + file.format());
            }
        }
        long deletedKeys = equality.stream().mapToLong(DeleteFile::recordCount).sum();
        int passes = (int) Math.max(1, (deletedKeys + keysInMemory - 1) / keysInMemory);

        List<Types.NestedField> fields = schema.columns();
        int[] fieldIds = fields.stream().mapToInt(Types.NestedField::fieldId).toArray();
        int[] keySlots = keyIds.stream().mapToInt(id -> fields.indexOf(schema.findField(id))).toArray();
        Type[] keyTypes = keyIds.stream().map(id -> schema.findField(id).type()).toArray(Type[]::new);
        TableChanges changes = TableChanges.rewriteOf(table, schema, "upkeep-rewrite", fields.stream()
                .map(IcebergCompaction::columnOf).toList());
        boolean committed = false;
        try {
            RowCopy out = new RowCopy(changes.stream());
            out.header();
            long[] rows = {0};
            for (int pass = 0; pass < passes; pass++) {
                Map<Key, Long> deleted = deletedKeys(table, equality, keyIds, keyTypes, pass, passes);
                for (DataFile file : data) {
                    long sequence = file.dataSequenceNumber();
                    Set<Long> gone = deletedPositions(table, positions, file);
                    int p = pass;
                    ParquetRows.read(table.io().newInputFile(file), fieldIds, (values, position) -> {
                        Key key = Key.of(values, keySlots, keyTypes);
                        if (passes > 1 && key.partition(passes) != p) {
                            return;
                        }
                        Long deletedAt = deleted.get(key);
                        if ((deletedAt != null && deletedAt > sequence) || gone.contains(position)) {
                            return;
                        }
                        out.row(values, fields);
                        rows[0]++;
                    });
                }
            }
            out.trailer();
            changes.finish();
            Map<String, String> summary = new LinkedHashMap<>();
            // the export the rows are from, for a reader of the summary whose snapshot's parents have expired
            start.summary().forEach((k, v) -> {
                if (k.startsWith("cdc.") && !k.equals(UPKEEP)) {
                    summary.put(k, v);
                }
            });
            summary.put(UPKEEP, "rewrite");
            summary.put("cdc.rewrite-of-snapshot", Long.toString(start.snapshotId()));
            beforeCommit.run();
            try {
                changes.commitRewrite(start, data, concat(equality, positions), summary);
            } catch (CommitStateUnknownException e) {
                committed = true;   // the files may be the table's now: upkeep's orphan removal decides later
                throw e;
            }
            committed = true;
            return new Outcome(true, data.size(), equality.size() + positions.size(), changes.dataFileCount(),
                    rows[0], passes, null);
        } catch (CommitFailedException | ValidationException e) {
            log.info("Rewrite of Iceberg table {} gave way to another commit ({}); it is tried again at the next "
                    + "upkeep", table.name(), brief(e.getMessage()));
            return Outcome.skipped("another commit: " + brief(e.getMessage()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (!committed) {
                changes.discard();
            }
        }
    }

    /** Iceberg's messages list every missing file: the first few hundred characters say enough. */
    private static String brief(String message) {
        return message == null || message.length() <= 300 ? message : message.substring(0, 300) + "…";
    }

    private static List<DeleteFile> concat(List<DeleteFile> a, List<DeleteFile> b) {
        List<DeleteFile> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The keys of this pass's partition deleted by equality, each with the highest sequence number deleting it. */
    private Map<Key, Long> deletedKeys(Table table, List<DeleteFile> equality, List<Integer> keyIds, Type[] keyTypes,
                                       int pass, int passes) throws IOException {
        Map<Key, Long> deleted = new HashMap<>();
        int[] ids = keyIds.stream().mapToInt(Integer::intValue).toArray();
        int[] slots = new int[ids.length];
        Arrays.setAll(slots, i -> i);
        for (DeleteFile file : equality) {
            Long sequence = file.dataSequenceNumber();
            ParquetRows.read(table.io().newInputFile(file), ids, (values, position) -> {
                Key key = Key.of(values, slots, keyTypes);
                if (passes == 1 || key.partition(passes) == pass) {
                    deleted.merge(key, sequence, Math::max);
                }
            });
        }
        return deleted;
    }

    /** The positions of {@code data} that position deletes remove (none the service writes; another engine may). */
    private static Set<Long> deletedPositions(Table table, List<DeleteFile> positions, DataFile data)
            throws IOException {
        Set<Long> gone = new HashSet<>();
        int[] ids = {MetadataColumns.DELETE_FILE_PATH.fieldId(), MetadataColumns.DELETE_FILE_POS.fieldId()};
        byte[] location = data.location().getBytes(StandardCharsets.UTF_8);
        for (DeleteFile file : positions) {
            // a position delete applies to data files of its own sequence number or lower
            if (file.dataSequenceNumber() < data.dataSequenceNumber()) {
                continue;
            }
            ParquetRows.read(table.io().newInputFile(file), ids, (values, position) -> {
                if (Arrays.equals(((Binary) values[0]).getBytes(), location)) {
                    gone.add((Long) values[1]);
                }
            });
        }
        return gone;
    }

    /**
     * A field as the export encoder takes it: the PostgreSQL type whose binary form {@link RowCopy} writes, and
     * whose parquet type is the one an export gives that Iceberg type (see {@link IcebergSchemas#typeOf}).
     */
    static FileColumn columnOf(Types.NestedField field) {
        Type type = field.type();
        String pgType = switch (type.typeId()) {
            case INTEGER -> "integer";
            case LONG -> "bigint";
            case FLOAT -> "real";
            case DOUBLE -> "double precision";
            case BOOLEAN -> "boolean";
            case DATE -> "date";
            case TIMESTAMP -> ((Types.TimestampType) type).shouldAdjustToUTC() ? "timestamp with time zone"
                    : "timestamp without time zone";
            case DECIMAL -> "numeric(" + ((Types.DecimalType) type).precision() + ","
                    + ((Types.DecimalType) type).scale() + ")";
            case STRING -> "text";
            case UUID -> "uuid";
            case BINARY -> "bytea";
            default -> throw new IllegalStateException("Field " + field.name() + " is of type " + type
                    + ", which no export writes; the table is not rewritten");
        };
        String category = switch (type.typeId()) {
            case STRING -> "S";
            case INTEGER, LONG, FLOAT, DOUBLE, DECIMAL -> "N";
            default -> "U";
        };
        return new FileColumn(field.name(), pgType, category, field.isOptional());
    }

    /**
     * One value of {@code type} in COPY's binary form, from its parquet value (of this type, or of the type it was
     * promoted from): what the export encoder reads.
     */
    static byte[] binaryOf(Object value, Type type) {
        return switch (type.typeId()) {
            case INTEGER -> int32(((Number) value).intValue());
            case LONG -> int64(((Number) value).longValue());
            case FLOAT -> int32(Float.floatToRawIntBits((Float) value));
            case DOUBLE -> int64(Double.doubleToRawLongBits(((Number) value).doubleValue()));
            case BOOLEAN -> new byte[] {(byte) (((Boolean) value) ? 1 : 0)};
            case DATE -> {
                // the encoder's ±infinity (the extreme values) back to PostgreSQL's
                int days = (Integer) value;
                yield int32(days == Integer.MAX_VALUE ? Integer.MAX_VALUE
                        : days == -Integer.MAX_VALUE ? Integer.MIN_VALUE : days - EPOCH_SHIFT_DAYS);
            }
            case TIMESTAMP -> {
                long micros = (Long) value;
                yield int64(micros == Long.MAX_VALUE ? Long.MAX_VALUE
                        : micros == -Long.MAX_VALUE ? Long.MIN_VALUE : micros - EPOCH_SHIFT_MICROS);
            }
            case DECIMAL -> {
                // the encoder takes a decimal as text (COPY sends numeric cast to text)
                BigInteger unscaled = value instanceof Binary b ? new BigInteger(b.getBytes())
                        : BigInteger.valueOf(((Number) value).longValue());
                yield new BigDecimal(unscaled, ((Types.DecimalType) type).scale()).toPlainString()
                        .getBytes(StandardCharsets.US_ASCII);
            }
            case STRING, UUID, BINARY -> ((Binary) value).getBytes();
            default -> throw new IllegalStateException("No export writes " + type);
        };
    }

    private static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    private static byte[] int64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (56 - 8 * i));
        }
        return b;
    }

    /** A key's fields in binary form, each after its length: equal keys, equal bytes, whatever file they are in. */
    private record Key(byte[] bytes, int hash) {

        static Key of(Object[] values, int[] slots, Type[] types) {
            int size = 0;
            byte[][] parts = new byte[slots.length][];
            for (int i = 0; i < slots.length; i++) {
                if (values[slots[i]] == null) {
                    throw new IllegalStateException("A row without its key");
                }
                parts[i] = binaryOf(values[slots[i]], types[i]);
                size += 4 + parts[i].length;
            }
            byte[] bytes = new byte[size];
            int at = 0;
            for (byte[] part : parts) {
                System.arraycopy(int32(part.length), 0, bytes, at, 4);
                System.arraycopy(part, 0, bytes, at + 4, part.length);
                at += 4 + part.length;
            }
            return new Key(bytes, Arrays.hashCode(bytes));
        }

        int partition(int passes) {
            return Math.floorMod(hash * 0x9e3779b9, passes);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key k && k.hash == hash && Arrays.equals(k.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return "Key" + Arrays.toString(bytes);
        }
    }

    /** Rows in binary COPY's framing, onto the export encoder's stream. */
    private static final class RowCopy {
        private final OutputStream out;
        private byte[] buffer = new byte[1024];
        private int length;

        RowCopy(OutputStream out) {
            this.out = out;
        }

        void header() throws IOException {
            out.write(COPY_HEADER);
        }

        void row(Object[] values, List<Types.NestedField> fields) throws IOException {
            length = 0;
            put(new byte[] {(byte) (fields.size() >>> 8), (byte) fields.size()});
            for (int i = 0; i < values.length; i++) {
                if (values[i] == null) {
                    put(int32(-1));
                } else {
                    byte[] value = binaryOf(values[i], fields.get(i).type());
                    put(int32(value.length));
                    put(value);
                }
            }
            out.write(buffer, 0, length);
        }

        void trailer() throws IOException {
            out.write(new byte[] {(byte) 0xff, (byte) 0xff});
        }

        private void put(byte[] bytes) {
            if (length + bytes.length > buffer.length) {
                buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + bytes.length));
            }
            System.arraycopy(bytes, 0, buffer, length, bytes.length);
            length += bytes.length;
        }
    }
}
