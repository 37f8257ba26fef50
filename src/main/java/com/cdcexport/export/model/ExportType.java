package com.cdcexport.export.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The three export kinds of the seed, by the lowercase name used in paths, file names and JSON. */
public enum ExportType {
    FULL, INCREMENTAL, DELTA;

    public String slug() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<ExportType> fromSlug(String slug) {
        return Arrays.stream(values()).filter(t -> t.slug().equals(slug)).findFirst();
    }
}
