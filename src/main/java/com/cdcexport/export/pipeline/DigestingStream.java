package com.cdcexport.export.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Counts and hashes the bytes of one output on their way into the destination, so the manifest's size and SHA-256
 * describe exactly what was stored, without reading it again (and alike for every destination). The stream it wraps
 * is the destination's: closing this one does not close it.
 */
final class DigestingStream extends DigestOutputStream {

    private long bytes;

    DigestingStream(OutputStream stored) {
        super(stored, newSha256());
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every Java runtime has SHA-256", e);
        }
    }

    @Override
    public void write(int b) throws IOException {
        super.write(b);
        bytes++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        super.write(b, off, len);
        bytes += len;
    }

    @Override
    public void close() throws IOException {
        flush();
    }

    long bytes() {
        return bytes;
    }

    /** The hex SHA-256 of everything written; call once, when the output is complete. */
    String sha256() {
        return HexFormat.of().formatHex(getMessageDigest().digest());
    }
}
