package com.cdcexport.export.format;

import java.io.IOException;
import java.util.Arrays;

/**
 * Reads PostgreSQL's binary COPY format as it arrives, for any encoder that wants COPY's typed values rather than
 * its text (parquet today): bytes come in slices cut anywhere, and each complete row goes to the row consumer as
 * slices of one buffer, no field copied. The format: an 11-byte signature, 32 bits of flags, the length of an
 * extension area and the area itself; then per row a 16-bit field count and per field a 32-bit length (-1 for
 * NULL) and that many bytes; then a field count of -1. All integers are big-endian.
 *
 * @see <a href="https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4">COPY's binary format</a>
 */
public final class BinaryCopyParser {

    static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
    /** The signature, the flags and the extension area's length: all the header when the area is empty. */
    static final int HEADER_BYTES = SIGNATURE.length + 4 + 4;
    /** The end marker: a field count of -1. */
    static final int TRAILER_BYTES = 2;
    private static final short TRAILER = -1;
    /**
     * Flag bits 16 to 31 change the format, and a reader must refuse a stream with one it does not know; bit 16
     * says each row carries an OID, which no COPY of a SELECT does. Bits 0 to 15 may be ignored.
     */
    private static final int CRITICAL_FLAGS = 0xffff0000;

    private final int fields;
    private final RowConsumer consumer;
    private final Row row;
    private byte[] buffer = new byte[1 << 16];
    /** The buffer's unread bytes are [start, end); {@code consumed} bytes of the stream came before start. */
    private int start;
    private int end;
    private long consumed;
    private long rows;
    private boolean headerRead;
    private boolean trailerRead;

    /** Receives each row; the row and its buffer are the parser's, valid only until the call returns. */
    @FunctionalInterface
    public interface RowConsumer {
        void accept(Row row) throws IOException;
    }

    /** One row: each field a slice of {@link #bytes()}, or NULL. */
    public static final class Row {
        private byte[] bytes;
        private final int[] offsets;
        private final int[] lengths;

        private Row(int fields) {
            offsets = new int[fields];
            lengths = new int[fields];
        }

        public int fields() {
            return offsets.length;
        }

        /** The buffer every field of the row lies in. */
        public byte[] bytes() {
            return bytes;
        }

        /** Where the field's value starts in {@link #bytes()}. */
        public int offset(int field) {
            return offsets[field];
        }

        /** The value's length in bytes; -1 for NULL. */
        public int length(int field) {
            return lengths[field];
        }

        public boolean isNull(int field) {
            return lengths[field] < 0;
        }
    }

    /** A parser of a stream whose rows have {@code fields} fields each. */
    public BinaryCopyParser(int fields, RowConsumer consumer) {
        this.fields = fields;
        this.consumer = consumer;
        this.row = new Row(fields);
    }

    /** The next bytes of the stream; each row they complete goes to the consumer before this returns. */
    public void write(byte[] b, int off, int len) throws IOException {
        if (end + len > buffer.length) {
            System.arraycopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
            if (end + len > buffer.length) {
                buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, end + len));
            }
        }
        System.arraycopy(b, off, buffer, end, len);
        end += len;
        parse();
    }

    /** Checks that the stream ended where the format says it does: after the end marker, with nothing after it. */
    public void finish() throws IOException {
        if (!headerRead) {
            throw malformed("ended within its header (" + (end - start) + " bytes)");
        }
        if (!trailerRead) {
            throw malformed(start == end ? "ended without its end marker" : "ended within row " + (rows + 1));
        }
        if (start != end) {
            throw new IOException("Data after the end of a binary COPY stream (byte " + consumed + ")");
        }
    }

    /** The rows given to the consumer so far. */
    public long rows() {
        return rows;
    }

    /** Consumes every complete row in the buffer; a partial one waits for the next write. */
    private void parse() throws IOException {
        if (!headerRead && !readHeader()) {
            return;
        }
        while (end - start >= 2) {
            if (trailerRead) {
                throw new IOException("Data after the end of a binary COPY stream (byte " + consumed + ")");
            }
            short count = (short) ((buffer[start] << 8) | (buffer[start + 1] & 0xff));
            if (count == TRAILER) {
                trailerRead = true;
                advance(start + 2);
                continue;
            }
            if (count != fields) {
                throw malformed("has a row of " + count + " fields where " + fields + " were expected (row "
                        + (rows + 1) + ")");
            }
            int at = start + 2;
            for (int i = 0; i < fields; i++) {
                if (end - at < 4) {
                    return;
                }
                int length = int32(buffer, at);
                if (length < -1) {
                    throw malformed("has a field of length " + length + " (row " + (rows + 1) + ", field "
                            + (i + 1) + ")");
                }
                at += 4;
                row.offsets[i] = at;
                row.lengths[i] = length;
                if (length > 0) {
                    if (end - at < length) {
                        return;
                    }
                    at += length;
                }
            }
            row.bytes = buffer;
            rows++;
            consumer.accept(row);
            advance(at);
        }
    }

    /** Checks and skips the header once it is all in; false while it is not. */
    private boolean readHeader() throws IOException {
        if (end - start < HEADER_BYTES) {
            return false;
        }
        if (!Arrays.equals(buffer, start, start + SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            throw new IOException("Not a binary COPY stream: it does not start with PGCOPY's signature");
        }
        int flags = int32(buffer, start + SIGNATURE.length);
        if ((flags & CRITICAL_FLAGS) != 0) {
            throw malformed("has header flags 0x" + Integer.toHexString(flags)
                    + " this parser does not read (bit 16: OIDs)");
        }
        int extension = int32(buffer, start + SIGNATURE.length + 4);
        if (extension < 0) {
            throw malformed("has a header extension of length " + extension);
        }
        if (end - start < HEADER_BYTES + extension) {
            return false;
        }
        advance(start + HEADER_BYTES + extension);
        headerRead = true;
        return true;
    }

    private void advance(int to) {
        consumed += to - start;
        start = to;
    }

    private IOException malformed(String what) {
        return new IOException("The binary COPY stream " + what + " at byte " + consumed);
    }

    private static int int32(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }
}
