package com.cdcexport.export.format;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Receives what COPY sends for one table and writes the file's bytes into the target stream. The target is never
 * closed here: the file store owns it (its close discards, its publish syncs).
 */
public abstract class EncodedOutput extends OutputStream {

    /** Completes the file (a gzip trailer, a parquet footer) and flushes it into the target. */
    public abstract void finish() throws IOException;

    /** Releases what the encoder holds (a compressing thread); without {@link #finish()} the output is abandoned. */
    @Override
    public void close() throws IOException {
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /** COPY's bytes as they are: csv and jsonl. */
    static EncodedOutput plain(OutputStream target) {
        return new EncodedOutput() {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                target.write(b, off, len);
            }

            @Override
            public void finish() throws IOException {
                target.flush();
            }
        };
    }

    /** A stream over the target whose close only flushes: compressors close their stream to finish it. */
    static OutputStream keepOpen(OutputStream target) {
        return new java.io.FilterOutputStream(target) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
    }
}
