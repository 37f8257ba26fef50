package com.cdcexport.export.capture;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import com.cdcexport.config.CdcProperties;

/**
 * MASKING_KEY, ready for SQL: HMAC-SHA256 (RFC 2104) built from core PostgreSQL's sha256(), since pgcrypto's hmac()
 * may not be installed in the user's database (and the service installs nothing outside its schema). The statement
 * carries the key's inner and outer pads as bytea literals, so its text is as secret as the key: it is never
 * logged nor put in a message, and this object's {@link #toString()} says nothing of it.
 */
public final class MaskingKey {

    /** SHA-256's block size: the key is padded to it (or hashed first when longer). */
    private static final int BLOCK = 64;

    private final String innerPad;
    private final String outerPad;

    private MaskingKey(byte[] key) {
        byte[] block = new byte[BLOCK];
        byte[] k = key.length > BLOCK ? sha256(key) : key;
        System.arraycopy(k, 0, block, 0, k.length);
        byte[] inner = new byte[BLOCK];
        byte[] outer = new byte[BLOCK];
        for (int i = 0; i < BLOCK; i++) {
            inner[i] = (byte) (block[i] ^ 0x36);
            outer[i] = (byte) (block[i] ^ 0x5c);
        }
        this.innerPad = HexFormat.of().formatHex(inner);
        this.outerPad = HexFormat.of().formatHex(outer);
    }

    /**
     * The key is the secret's UTF-8 bytes, as {@code openssl dgst -sha256 -hmac "$MASKING_KEY"} takes it.
     *
     * @throws IllegalArgumentException when the secret is not acceptable (the message never contains it)
     */
    public static MaskingKey of(String secret) {
        if (!CdcProperties.Masking.isAcceptable(secret)) {
            throw new IllegalArgumentException("MASKING_KEY must be at least " + CdcProperties.Masking.MIN_LENGTH
                    + " characters, not one character repeated");
        }
        return new MaskingKey(secret.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The SQL expression of the token of {@code text}, an expression of type text: lowercase hex of
     * HMAC-SHA256(key, convert_to(text, 'UTF8')) = sha256((key ^ opad) || sha256((key ^ ipad) || message)).
     * The literals rely on standard_conforming_strings, which every capture transaction sets.
     */
    String sql(String text) {
        return "encode(sha256('\\x" + outerPad + "'::bytea || sha256('\\x" + innerPad + "'::bytea || convert_to("
                + text + ", 'UTF8'))), 'hex')";
    }

    @Override
    public String toString() {
        return "MaskingKey[hidden]";
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
