package com.cdcexport.config;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/** The one JSON timestamp format of the API, the seed's: UTC, microseconds, explicit offset. */
public final class Timestamps {

    private static final DateTimeFormatter JSON =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx", Locale.ROOT).withZone(ZoneOffset.UTC);

    private Timestamps() {
    }

    public static String json(Instant instant) {
        return instant == null ? null : JSON.format(instant.truncatedTo(ChronoUnit.MICROS));
    }
}
