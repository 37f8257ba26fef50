package com.cdcexport.export.job;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.UUID;

/** A position in the newest-first job list: the creation time and id of the last job already seen. */
public record JobCursor(Instant createdAt, UUID id) {

    static JobCursor after(ExportJob job) {
        return new JobCursor(job.createdAt(), job.id());
    }

    String encode() {
        String raw = ChronoUnit.MICROS.between(Instant.EPOCH, createdAt) + ":" + id;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    /** @throws IllegalArgumentException for anything {@link #encode()} did not produce */
    public static JobCursor decode(String cursor) {
        try {
            String[] parts = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8).split(":", 2);
            return new JobCursor(Instant.EPOCH.plus(Long.parseLong(parts[0]), ChronoUnit.MICROS),
                    UUID.fromString(parts[1]));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("Invalid cursor: use the nextCursor of a previous page");
        }
    }
}
