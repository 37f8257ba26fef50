package com.cdcexport.consumer;

import java.util.regex.Pattern;

/**
 * A downstream consumer's id. The allowed characters keep it safe inside a file name:
 * no separators, so it can never steer a file out of the output directory.
 */
public record ConsumerId(String value) {

    public static final int MAX_LENGTH = 128;
    /** What every message about an invalid id says. */
    public static final String RULE = "1 to " + MAX_LENGTH + " characters from A-Z, a-z, 0-9, '.', '_' and '-', "
            + "not only dots";
    // Not only dots: '.' and '..' are path segments that URLs normalize away, so /consumers/.. could never name one.
    private static final Pattern VALID = Pattern.compile("(?!\\.+$)[A-Za-z0-9._-]{1," + MAX_LENGTH + "}");

    public ConsumerId {
        if (value == null || !VALID.matcher(value).matches()) {
            throw new InvalidConsumerIdException(value);
        }
    }

    @Override
    public String toString() {
        return value;
    }

    public static final class InvalidConsumerIdException extends IllegalArgumentException {
        InvalidConsumerIdException(String value) {
            super(value == null || value.isEmpty()
                    ? "The X-Consumer-ID header is required"
                    : "The X-Consumer-ID header must be " + RULE);
        }
    }
}
