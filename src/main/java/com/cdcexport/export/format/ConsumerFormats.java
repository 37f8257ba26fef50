package com.cdcexport.export.format;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.web.ErrorResponseException;

import com.cdcexport.consumer.ConsumerId;

/** Each consumer's default format, kept with the consumer (consumers.default_format; NULL is csv). */
@Repository
public class ConsumerFormats {

    private final JdbcClient jdbc;

    ConsumerFormats(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** The format of an export that names none: the consumer's default, csv without one (or without a row). */
    public ExportFormat defaultOf(ConsumerId consumer) {
        return jdbc.sql("SELECT coalesce(default_format, '') FROM consumers WHERE id = ?").param(consumer.value())
                .query(String.class).optional()
                .flatMap(ExportFormat::fromSlug).orElse(ExportFormat.DEFAULT);
    }

    boolean exists(ConsumerId consumer) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM consumers WHERE id = ?)").param(consumer.value())
                .query(Boolean.class).single();
    }

    /** @return false when there is no such consumer */
    boolean setDefault(ConsumerId consumer, ExportFormat format) {
        return jdbc.sql("UPDATE consumers SET default_format = ? WHERE id = ?").params(format.slug(), consumer.value())
                .update() == 1;
    }

    /** The format a request names; a name that is none answers 400 listing the valid ones. */
    public static ExportFormat parse(String name) {
        return ExportFormat.fromSlug(name).orElseThrow(() -> new UnknownFormatException(name));
    }

    /** 400: a format name that is none of {@link ExportFormat}'s. */
    public static final class UnknownFormatException extends ErrorResponseException {
        UnknownFormatException(String name) {
            super(HttpStatus.BAD_REQUEST, ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "Unknown format '"
                    + (name == null ? "" : name.length() > 40 ? name.substring(0, 40) + "..." : name)
                    + "': use one of " + ExportFormat.names()), null);
            getBody().setProperty("validFormats", java.util.Arrays.stream(ExportFormat.values())
                    .map(ExportFormat::slug).toList());
        }
    }
}
