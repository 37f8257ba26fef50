package com.cdcexport.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** How keys look, are made and are compared. Only {@link #hash} of a key is ever stored. */
final class ApiKeys {

    /** Keys given in CONSUMER_API_KEYS must carry at least 128 bits, e.g. {@code openssl rand -hex 32}. */
    static final int MIN_LENGTH = 32;
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._~+/=-]{" + MIN_LENGTH + ",512}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {
    }

    /** 256 random bits; the prefix lets secret scanners (and people) recognise a leaked key. */
    static String newKey() {
        return "cdc_" + Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
    }

    static String newKeyId() {
        return "key_" + HexFormat.of().formatHex(randomBytes(8));
    }

    static boolean isWellFormed(String key) {
        return key != null && WELL_FORMED.matcher(key).matches();
    }

    /** "aaaa…": well formed by length, yet the first guess of anyone trying keys. */
    static boolean isOneRepeatedCharacter(String key) {
        return key.chars().distinct().count() == 1;
    }

    static byte[] hash(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Compares digests, not the secrets, in time independent of where they differ. */
    static boolean matches(byte[] presentedHash, byte[] expectedHash) {
        return MessageDigest.isEqual(presentedHash, expectedHash);
    }

    private static byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
