package com.cdcexport.export.format;

import java.io.IOException;
import java.io.OutputStream;

import com.github.luben.zstd.ZstdOutputStream;

/** How a text format's bytes are compressed on their way into the file. */
enum Compression {
    NONE, GZIP, ZSTD;

    /**
     * gzip level 4: the lowest that makes the users' CSV a third of its size or less (in 1 MiB members, level 1: 0.362
     * of it, 3: 0.333, 4: 0.316, 6: 0.303), at 1.9× level 1's CPU; level 6 costs 3.6× (bench/GzipLevels.java,
     * docs/benchmarks.md, "S3 and compression"). {@link ParallelGzip} spreads it over the cores.
     */
    static final int GZIP_LEVEL = 4;
    /** zstd's default level: faster than gzip -1 and smaller than gzip -6. */
    static final int ZSTD_LEVEL = 3;

    EncodedOutput wrap(OutputStream target) {
        return switch (this) {
            case NONE -> EncodedOutput.plain(target);
            case GZIP -> new ParallelGzip(target, GZIP_LEVEL);
            case ZSTD -> new PipelinedCompression(target, out -> new ZstdOutputStream(out, ZSTD_LEVEL));
        };
    }

    /** Opens a compressing stream over {@code out}; closing it finishes the compressed format. */
    @FunctionalInterface
    interface Compressor {
        OutputStream open(OutputStream out) throws IOException;
    }
}
