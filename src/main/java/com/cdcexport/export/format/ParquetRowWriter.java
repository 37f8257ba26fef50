package com.cdcexport.export.format;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;
import org.xerial.snappy.Snappy;

import com.cdcexport.export.format.BinaryCopyParser.Row;

/**
 * Writes rows parsed from binary COPY as one parquet file onto a stream, as they arrive: each row's fields (all of
 * them, or the chosen ones) become parquet values handed to parquet-java, which keeps one row group in memory at a
 * time and writes it to the stream through its own OutputFile abstraction, with no Hadoop file system and no local
 * copy. Iceberg data and delete files are such files whose columns carry Iceberg's field ids.
 */
public final class ParquetRowWriter {

    /**
     * Row groups of 32 MiB (compressed, as parquet-java measures them): large enough for readers to skip and scan
     * well, small enough that the group being built fits a 128 MiB heap beside everything else.
     */
    public static final long ROW_GROUP_BYTES = 32L << 20;

    private final ParquetWriter<Row> writer;
    private long rows;

    /** A file of every field of the rows, in order. */
    ParquetRowWriter(OutputStream target, List<FileColumn> columns) {
        this(target, columns, IntStream.range(0, columns.size()).toArray(), null);
    }

    /**
     * A file whose column i is field {@code sourceFields[i]} of each row, described by {@code columns.get(i)}.
     *
     * @param fieldIds each column's Iceberg field id, or null for a plain parquet file; with ids, the columns take
     *                 {@link ParquetColumn#ofTable table types}
     */
    public ParquetRowWriter(OutputStream target, List<FileColumn> columns, int[] sourceFields, int[] fieldIds) {
        this(target, columns, sourceFields, fieldIds, ROW_GROUP_BYTES);
    }

    /** As above, with row groups of {@code rowGroupBytes} (tests make files of several groups from a few rows). */
    public ParquetRowWriter(OutputStream target, List<FileColumn> columns, int[] sourceFields, int[] fieldIds,
                            long rowGroupBytes) {
        List<ParquetColumn> parquet = columns.stream()
                .map(fieldIds == null ? ParquetColumn::of : ParquetColumn::ofTable).toList();
        Type[] types = new Type[parquet.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = fieldIds == null ? parquet.get(i).type() : parquet.get(i).type().withId(fieldIds[i]);
        }
        MessageType schema = new MessageType("row", types);
        try {
            this.writer = new Builder(new StreamOutputFile(target), new RowWriteSupport(schema, parquet,
                    sourceFields.clone()))
                    .withConf(new PlainParquetConfiguration())
                    .withCodecFactory(new PageCodecs())
                    .withCompressionCodec(CompressionCodecName.SNAPPY)
                    .withRowGroupSize(rowGroupBytes)
                    .withValidation(false)
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void write(Row row) throws IOException {
        writer.write(row);
        rows++;
    }

    /** Rows written so far. */
    public long rows() {
        return rows;
    }

    /** Writes the footer: the file is complete. */
    public void finish() throws IOException {
        writer.close();
    }

    private static final class RowWriteSupport extends WriteSupport<Row> {
        private final MessageType schema;
        private final List<ParquetColumn> columns;
        private final int[] sourceFields;
        private RecordConsumer out;

        RowWriteSupport(MessageType schema, List<ParquetColumn> columns, int[] sourceFields) {
            this.schema = schema;
            this.columns = columns;
            this.sourceFields = sourceFields;
        }

        @Override
        public WriteContext init(org.apache.hadoop.conf.Configuration configuration) {
            return init((ParquetConfiguration) null);
        }

        @Override
        public WriteContext init(ParquetConfiguration configuration) {
            return new WriteContext(schema, Map.of("writer.model.name", "cdc-export"));
        }

        @Override
        public void prepareForWrite(RecordConsumer recordConsumer) {
            out = recordConsumer;
        }

        @Override
        public void write(Row row) {
            out.startMessage();
            for (int i = 0; i < columns.size(); i++) {
                ParquetColumn column = columns.get(i);
                int offset = row.offset(sourceFields[i]);
                int length = row.length(sourceFields[i]);
                if (column.isNull(row.bytes(), offset, length)) {
                    if (!column.nullable()) {
                        throw new IllegalStateException("Column " + column.name() + " holds a value parquet cannot "
                                + "store in its type (NULL or NaN) though it is declared NOT NULL");
                    }
                    continue;
                }
                out.startField(column.name(), i);
                column.write(out, row.bytes(), offset, length);
                out.endField(column.name(), i);
            }
            out.endMessage();
        }
    }

    private static final class Builder extends ParquetWriter.Builder<Row, Builder> {
        private final WriteSupport<Row> support;

        Builder(OutputFile file, WriteSupport<Row> support) {
            super(file);
            this.support = support;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected WriteSupport<Row> getWriteSupport(org.apache.hadoop.conf.Configuration conf) {
            return support;
        }

        @Override
        protected WriteSupport<Row> getWriteSupport(ParquetConfiguration conf) {
            return support;
        }
    }

    /** The target stream as parquet-java's output file; closing it only flushes (the file store owns it). */
    private static final class StreamOutputFile implements OutputFile {
        private final OutputStream target;

        StreamOutputFile(OutputStream target) {
            this.target = target;
        }

        @Override
        public PositionOutputStream create(long blockSizeHint) {
            return new PositionOutputStream() {
                private long position;

                @Override
                public long getPos() {
                    return position;
                }

                @Override
                public void write(int b) throws IOException {
                    target.write(b);
                    position++;
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    target.write(b, off, len);
                    position += len;
                }

                @Override
                public void flush() throws IOException {
                    target.flush();
                }

                @Override
                public void close() throws IOException {
                    target.flush();
                }
            };
        }

        @Override
        public PositionOutputStream createOrOverwrite(long blockSizeHint) {
            return create(blockSizeHint);
        }

        @Override
        public boolean supportsBlockSize() {
            return false;
        }

        @Override
        public long defaultBlockSize() {
            return 0;
        }
    }

    /** Snappy pages through snappy-java directly: parquet-java's own codecs are Hadoop codecs. */
    private static final class PageCodecs implements CompressionCodecFactory {
        private static final BytesInputCompressor SNAPPY = new BytesInputCompressor() {
            @Override
            public BytesInput compress(BytesInput bytes) throws IOException {
                return BytesInput.from(Snappy.compress(bytes.toByteArray()));
            }

            @Override
            public CompressionCodecName getCodecName() {
                return CompressionCodecName.SNAPPY;
            }

            @Override
            public void release() {
            }
        };

        @Override
        public BytesInputCompressor getCompressor(CompressionCodecName codecName) {
            if (codecName != CompressionCodecName.SNAPPY) {
                throw new IllegalArgumentException("Only snappy pages are written, not " + codecName);
            }
            return SNAPPY;
        }

        @Override
        public BytesInputDecompressor getDecompressor(CompressionCodecName codecName) {
            throw new UnsupportedOperationException("Export files are written, never read here");
        }

        @Override
        public void release() {
        }
    }
}
