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

    /** Job creation times a cursor may carry: anything else was not made by {@link #encode()}. */
    private static final Instant EARLIEST = Instant.EPOCH;
    private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59.999999Z");

    /** @throws IllegalArgumentException for anything {@link #encode()} did not produce */
    public static JobCursor decode(String cursor) {
        Instant createdAt;
        UUID id;
        try {
            String[] parts = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8).split(":", 2);
            createdAt = Instant.EPOCH.plus(Long.parseLong(parts[0]), ChronoUnit.MICROS);
            id = UUID.fromString(parts[1]);
        } catch (RuntimeException e) {
            throw invalid();
        }
        // A forged time beyond PostgreSQL's timestamp range would fail the query (SQLSTATE 22008), not the request.
        if (createdAt.isBefore(EARLIEST) || createdAt.isAfter(LATEST)) {
            throw invalid();
        }
        return new JobCursor(createdAt, id);
    }

    private static IllegalArgumentException invalid() {
        return new IllegalArgumentException("Invalid cursor: use the nextCursor of a previous page");
    }
}
