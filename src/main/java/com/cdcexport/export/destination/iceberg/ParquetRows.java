package com.cdcexport.export.destination.iceberg;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

import org.apache.parquet.HadoopFreeReadOptions;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.DelegatingSeekableInputStream;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.io.SeekableInputStream;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.Converter;
import org.apache.parquet.io.api.GroupConverter;
import org.apache.parquet.io.api.PrimitiveConverter;
import org.apache.parquet.io.api.RecordMaterializer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;
import org.xerial.snappy.Snappy;

/**
 * Reads the rows of one of a table's parquet files (data, equality or position deletes) through parquet-java's
 * record reader on its own {@link InputFile}, over Iceberg's FileIO stream: the same path the writer takes the other
 * way, so neither Hadoop's Configuration nor its codecs are loaded (iceberg-parquet's reader needs both). Columns
 * are found by their Iceberg field id, whatever their name in the file; one row group is in memory at a time.
 */
final class ParquetRows {

    /** Receives each row: {@code values[i]} is field {@code fieldIds[i]}'s parquet value or null, valid in the call. */
    @FunctionalInterface
    interface RowConsumer {
        void accept(Object[] values, long position) throws IOException;
    }

    private ParquetRows() {
    }

    /**
     * Every row of {@code file}, in order, with the values of the fields asked for: Integer (INT32 and its logical
     * types), Long, Float, Double, Boolean or {@link Binary}; null for NULL and for a field the file does not have
     * (a column added after it was written).
     */
    static long read(org.apache.iceberg.io.InputFile file, int[] fieldIds, RowConsumer rows) throws IOException {
        // not ParquetReadOptions.builder(): see HadoopFreeReadOptions
        ParquetReadOptions options = HadoopFreeReadOptions.of(new PageDecompressors());
        try (ParquetFileReader reader = ParquetFileReader.open(parquetFile(file), options)) {
            MessageType fileSchema = reader.getFooter().getFileMetaData().getSchema();
            List<Type> requested = new ArrayList<>();
            List<Integer> slots = new ArrayList<>();
            for (Type field : fileSchema.getFields()) {
                if (field.getId() == null || !field.isPrimitive()) {
                    continue;
                }
                for (int i = 0; i < fieldIds.length; i++) {
                    if (fieldIds[i] == field.getId().intValue()) {
                        requested.add(field);
                        slots.add(i);
                    }
                }
            }
            if (requested.isEmpty()) {
                throw new IOException(file.location() + " holds none of the fields " + Arrays.toString(fieldIds));
            }
            MessageType projection = new MessageType(fileSchema.getName(), requested);
            reader.setRequestedSchema(projection);
            MessageColumnIO columns = new ColumnIOFactory().getColumnIO(projection, fileSchema);
            Values values = new Values(fieldIds.length, slots.stream().mapToInt(Integer::intValue).toArray());
            long position = 0;
            PageReadStore group;
            while ((group = reader.readNextRowGroup()) != null) {
                RecordReader<Object[]> records = columns.getRecordReader(group, values);
                for (long i = 0, n = group.getRowCount(); i < n; i++) {
                    rows.accept(records.read(), position++);
                }
            }
            return position;
        }
    }

    /** Iceberg's file (local or S3) as parquet-java's: its length from the table's metadata, its seekable stream. */
    private static InputFile parquetFile(org.apache.iceberg.io.InputFile file) {
        return new InputFile() {
            @Override
            public long getLength() {
                return file.getLength();
            }

            @Override
            public SeekableInputStream newStream() {
                org.apache.iceberg.io.SeekableInputStream in = file.newStream();
                return new DelegatingSeekableInputStream(in) {
                    @Override
                    public long getPos() throws IOException {
                        return in.getPos();
                    }

                    @Override
                    public void seek(long newPos) throws IOException {
                        in.seek(newPos);
                    }
                };
            }

            @Override
            public String toString() {
                return file.location();
            }
        };
    }

    /** One row's values, by slot; a flat schema only (the service's tables have no nested fields). */
    private static final class Values extends RecordMaterializer<Object[]> {
        private final Object[] values;
        private final GroupConverter root;

        Values(int width, int[] slots) {
            values = new Object[width];
            Converter[] converters = new Converter[slots.length];
            for (int i = 0; i < slots.length; i++) {
                int slot = slots[i];
                converters[i] = new PrimitiveConverter() {
                    @Override
                    public void addBinary(Binary value) {
                        values[slot] = value;
                    }

                    @Override
                    public void addBoolean(boolean value) {
                        values[slot] = value;
                    }

                    @Override
                    public void addDouble(double value) {
                        values[slot] = value;
                    }

                    @Override
                    public void addFloat(float value) {
                        values[slot] = value;
                    }

                    @Override
                    public void addInt(int value) {
                        values[slot] = value;
                    }

                    @Override
                    public void addLong(long value) {
                        values[slot] = value;
                    }
                };
            }
            root = new GroupConverter() {
                @Override
                public Converter getConverter(int fieldIndex) {
                    return converters[fieldIndex];
                }

                @Override
                public void start() {
                    Arrays.fill(values, null);
                }

                @Override
                public void end() {
                }
            };
        }

        @Override
        public Object[] getCurrentRecord() {
            return values;
        }

        @Override
        public GroupConverter getRootConverter() {
            return root;
        }
    }

    /**
     * The page codecs a table's files may use, without Hadoop's codec classes: snappy (what the service writes),
     * gzip and none. A file of another engine in another codec is refused by name, and its table is not rewritten.
     */
    private static final class PageDecompressors implements CompressionCodecFactory {

        @Override
        public BytesInputCompressor getCompressor(CompressionCodecName codecName) {
            throw new UnsupportedOperationException("upkeep reads pages; the export encoder writes them");
        }

        @Override
        public BytesInputDecompressor getDecompressor(CompressionCodecName codecName) {
            return switch (codecName) {
                case UNCOMPRESSED, SNAPPY, GZIP -> new Decompressor(codecName);
                default -> throw new IllegalStateException("A page compressed with " + codecName + ", which the "
                        + "service's upkeep does not read (snappy, gzip or none)");
            };
        }

        @Override
        public void release() {
        }
    }

    private record Decompressor(CompressionCodecName codec) implements CompressionCodecFactory.BytesInputDecompressor {

        @Override
        public BytesInput decompress(BytesInput bytes, int uncompressedSize) throws IOException {
            return BytesInput.from(decompress(bytes.toByteArray(), uncompressedSize));
        }

        @Override
        public void decompress(ByteBuffer input, int compressedSize, ByteBuffer output, int decompressedSize)
                throws IOException {
            byte[] compressed = new byte[compressedSize];
            input.get(compressed);
            output.put(decompress(compressed, decompressedSize));
        }

        private byte[] decompress(byte[] compressed, int uncompressedSize) throws IOException {
            return switch (codec) {
                case SNAPPY -> Snappy.uncompress(compressed);
                case GZIP -> {
                    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed))) {
                        yield in.readNBytes(uncompressedSize);
                    }
                }
                default -> compressed;
            };
        }

        @Override
        public void release() {
        }
    }
}
