package com.cdcexport.export.format;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * Turns a binary COPY stream into a parquet file as the rows arrive: {@link BinaryCopyParser} cuts COPY's bytes
 * into rows and {@link ParquetRowWriter} writes them.
 */
final class ParquetEncoder extends EncodedOutput {

    private final ParquetRowWriter writer;
    private final BinaryCopyParser copy;

    ParquetEncoder(OutputStream target, List<FileColumn> columns) {
        this.writer = new ParquetRowWriter(target, columns);
        this.copy = new BinaryCopyParser(columns.size(), writer::write);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        copy.write(b, off, len);
    }

    @Override
    public void finish() throws IOException {
        copy.finish();
        writer.finish();
    }

    @Override
    public void close() {
        // Unfinished: the file is being discarded, and parquet-java's writer holds only heap memory.
    }
}
