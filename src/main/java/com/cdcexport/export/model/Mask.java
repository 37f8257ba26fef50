package com.cdcexport.export.model;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** How a masked column's values are replaced in every file a consumer receives, in every format and export type. */
public enum Mask {

    /**
     * A keyed token: the lowercase hex HMAC-SHA256, keyed by MASKING_KEY, of the value's text as an unmasked CSV
     * export carries it (UTF-8). Equal values give equal tokens in every table, export and consumer; without the
     * key no one can compute a token, so no dictionary of likely values reverses them. NULL stays NULL.
     */
    HMAC_SHA256("hmac-sha256"),

    /** No value at all: NULL in every row. */
    NULL("null");

    private final String slug;

    Mask(String slug) {
        this.slug = slug;
    }

    /** The name in rules and manifests. */
    public String slug() {
        return slug;
    }

    public static Optional<Mask> of(String slug) {
        return Arrays.stream(values()).filter(m -> m.slug.equals(slug)).findFirst();
    }

    /** "hmac-sha256, null": for messages that list the valid names. */
    public static String names() {
        return Arrays.stream(values()).map(Mask::slug).collect(Collectors.joining(", "));
    }
}
