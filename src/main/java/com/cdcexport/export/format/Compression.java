package com.cdcexport.export.format;

import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.GZIPOutputStream;

import com.github.luben.zstd.ZstdOutputStream;

/** How a text format's bytes are compressed on their way into the file. */
enum Compression {
    NONE, GZIP, ZSTD;

    /**
     * gzip level 1: at level 6 one core deflates slower than PostgreSQL renders CSV, and the size gain is a few
     * percent (docs/benchmarks.md, "Formats").
     */
    static final int GZIP_LEVEL = 1;
    /** zstd's default level: faster than gzip -1 and smaller than gzip -6. */
    static final int ZSTD_LEVEL = 3;

    EncodedOutput wrap(OutputStream target) {
        return switch (this) {
            case NONE -> EncodedOutput.plain(target);
            case GZIP -> new PipelinedCompression(target, Compression::gzip);
            case ZSTD -> new PipelinedCompression(target, out -> new ZstdOutputStream(out, ZSTD_LEVEL));
        };
    }

    private static OutputStream gzip(OutputStream out) throws IOException {
        return new GZIPOutputStream(out, 1 << 16) {
            {
                def.setLevel(GZIP_LEVEL);
            }
        };
    }

    /** Opens a compressing stream over {@code out}; closing it finishes the compressed format. */
    @FunctionalInterface
    interface Compressor {
        OutputStream open(OutputStream out) throws IOException;
    }
}
