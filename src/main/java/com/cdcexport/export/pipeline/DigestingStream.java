package com.cdcexport.export.pipeline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Counts and hashes the bytes of one export file on their way into the file store, so the manifest's size and
 * SHA-256 describe exactly what was stored, without reading the file again (and alike for every sink). The stream
 * it wraps is the store's: it is never closed here.
 */
final class DigestingStream extends FilterOutputStream {

    private final MessageDigest sha256;
    private long bytes;

    DigestingStream(OutputStream stored) {
        super(stored);
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every Java runtime has SHA-256", e);
        }
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        sha256.update((byte) b);
        bytes++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        sha256.update(b, off, len);
        bytes += len;
    }

    @Override
    public void close() throws IOException {
        flush();
    }

    long bytes() {
        return bytes;
    }

    /** The hex SHA-256 of everything written; call once, when the file is complete. */
    String sha256() {
        return HexFormat.of().formatHex(sha256.digest());
    }
}
