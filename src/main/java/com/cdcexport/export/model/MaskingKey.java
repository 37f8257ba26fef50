package com.cdcexport.export.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HexFormat;

import com.cdcexport.config.CdcProperties;

/**
 * MASKING_KEY, ready for SQL: HMAC-SHA256 (RFC 2104) built from core PostgreSQL's sha256(), since pgcrypto's hmac()
 * may not be installed in the user's database (and the service installs nothing outside its schema). The key's inner
 * and outer pads (from which the key is easily recovered) never appear in a statement's text: each export's
 * transaction receives them as bind parameters of set_config(..., is_local) ({@link #apply}), and the statements read
 * them with current_setting. So neither pg_stat_activity, nor the server log of a failing or cancelled export
 * (log_min_error_statement), nor an error message shows them; this object's {@link #toString()} says nothing of them.
 */
public final class MaskingKey {

    /** Transaction-local settings holding the pads, as hex, for the export's statements. */
    private static final String INNER_SETTING = "cdc.masking_inner_pad";
    private static final String OUTER_SETTING = "cdc.masking_outer_pad";

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
     * Gives the transaction of {@code connection} (an export's, or a worker's in its snapshot) the pads, as bind
     * parameters; they last until that transaction ends.
     */
    public void apply(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT set_config(?, ?, true), set_config(?, ?, true)")) {
            statement.setString(1, INNER_SETTING);
            statement.setString(2, innerPad);
            statement.setString(3, OUTER_SETTING);
            statement.setString(4, outerPad);
            statement.execute();
        }
    }

    /**
     * The SQL expression of the token of {@code text}, an expression of type text: lowercase hex of
     * HMAC-SHA256(key, convert_to(text, 'UTF8')) = sha256((key ^ opad) || sha256((key ^ ipad) || message)), with
     * the pads {@link #apply} gave the transaction (uncorrelated subqueries: decoded once per statement).
     */
    public String sql(String text) {
        return "encode(sha256(" + pad(OUTER_SETTING) + " || sha256(" + pad(INNER_SETTING) + " || convert_to("
                + text + ", 'UTF8'))), 'hex')";
    }

    private static String pad(String setting) {
        return "(SELECT decode(current_setting('" + setting + "'), 'hex'))";
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
