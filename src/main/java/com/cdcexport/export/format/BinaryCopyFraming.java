package com.cdcexport.export.format;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Binary COPY output is a 19-byte header (signature, flags, an empty extension area), the rows, and a 2-byte end
 * marker. Each chunk of a parallel export is a COPY of its own; joined as they are, the parquet encoder would meet a
 * header in the middle. A chunk that is not first loses its header and one that is not last its end marker, so the
 * joined chunks are the bytes one COPY of all rows sends.
 */
final class BinaryCopyFraming extends FilterOutputStream {

    static final int HEADER_BYTES = 19;
    static final int TRAILER_BYTES = 2;

    private long toSkip;
    private final byte[] held;
    private int heldCount;

    private BinaryCopyFraming(OutputStream out, boolean first, boolean last) {
        super(out);
        this.toSkip = first ? 0 : HEADER_BYTES;
        this.held = new byte[last ? 0 : TRAILER_BYTES];
    }

    static OutputStream chunk(OutputStream out, boolean first, boolean last) {
        return first && last ? out : new BinaryCopyFraming(out, first, last);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /**
     * Skips what is left of the header, then passes everything on but the last {@code held.length} bytes seen so
     * far: at the chunk's end those are its end marker, and they are never written.
     */
    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        int skipped = (int) Math.min(toSkip, len);
        toSkip -= skipped;
        off += skipped;
        len -= skipped;
        if (len == 0) {
            return;
        }
        if (held.length == 0) {
            out.write(b, off, len);
            return;
        }
        int total = heldCount + len;
        int release = Math.max(0, total - held.length);
        int fromHeld = Math.min(release, heldCount);
        out.write(held, 0, fromHeld);
        int fromNew = release - fromHeld;
        out.write(b, off, fromNew);
        // keep the newest held.length bytes: what is left of the held ones, then the rest of b
        byte[] keep = new byte[held.length];
        int k = 0;
        for (int i = fromHeld; i < heldCount; i++) {
            keep[k++] = held[i];
        }
        for (int i = off + fromNew; i < off + len; i++) {
            keep[k++] = b[i];
        }
        System.arraycopy(keep, 0, held, 0, k);
        heldCount = k;
    }

    /** Closing a chunk's stream must not close the export's output, which the next chunk writes into. */
    @Override
    public void close() throws IOException {
        flush();
    }
}
