package com.cdcexport.export.format;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Binary COPY output is a 19-byte header (signature, flags, an empty extension area), the rows, and a 2-byte end
 * marker (see {@link BinaryCopyParser}). Each chunk of a parallel export is a COPY of its own; joined as they are,
 * the parquet encoder would meet a header in the middle. A chunk that is not first loses its header and one that is
 * not last its end marker, so the joined chunks are the bytes one COPY of all rows sends.
 */
final class BinaryCopyFraming extends FilterOutputStream {

    /** The header a later chunk drops, checked once it is all in: a longer one would leave bytes behind. */
    private final byte[] header;
    private int headerCount;
    private final byte[] held;
    private int heldCount;

    private BinaryCopyFraming(OutputStream out, boolean first, boolean last) {
        super(out);
        this.header = new byte[first ? 0 : BinaryCopyParser.HEADER_BYTES];
        this.held = new byte[last ? 0 : BinaryCopyParser.TRAILER_BYTES];
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
        if (headerCount < header.length) {
            int skipped = Math.min(header.length - headerCount, len);
            System.arraycopy(b, off, header, headerCount, skipped);
            headerCount += skipped;
            off += skipped;
            len -= skipped;
            if (headerCount == header.length) {
                checkHeader();
            }
        }
        if (len == 0) {
            return;
        }
        if (held.length == 0) {
            out.write(b, off, len);
            return;
        }
        if (len >= held.length) {
            // Everything held and all but the last bytes of b go out; those last bytes are held instead.
            out.write(held, 0, heldCount);
            out.write(b, off, len - held.length);
            System.arraycopy(b, off + len - held.length, held, 0, held.length);
            heldCount = held.length;
            return;
        }
        int release = Math.max(0, heldCount + len - held.length);
        out.write(held, 0, release);
        System.arraycopy(held, release, held, 0, heldCount - release);
        System.arraycopy(b, off, held, heldCount - release, len);
        heldCount = heldCount - release + len;
    }

    /** PostgreSQL's header: the signature, the flags, and an empty extension area (its length 0). */
    private void checkHeader() throws IOException {
        byte[] signature = BinaryCopyParser.SIGNATURE;
        boolean empty = Arrays.equals(header, header.length - 4, header.length, new byte[4], 0, 4);
        if (!Arrays.equals(header, 0, signature.length, signature, 0, signature.length) || !empty) {
            throw new IOException("A chunk of a parallel export does not start with binary COPY's "
                    + BinaryCopyParser.HEADER_BYTES + "-byte header");
        }
    }

    /** Closing a chunk's stream must not close the export's output, which the next chunk writes into. */
    @Override
    public void close() throws IOException {
        flush();
    }
}
