package com.cdcexport.export.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import software.amazon.awssdk.core.exception.SdkException;

import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.web.ErrorResponseException;

import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.model.TableName;

/**
 * Why a job failed, said twice. {@code message} is the job's {@code error}, what its consumer reads: a stable
 * sentence by kind of failure (the table's shape changed, the database went away, the file could not be written).
 * {@code detail} is for the admin (the console) and the log: the database's or the file system's own text, which
 * names internal columns, query positions and the service's paths, none of which is the consumer's business.
 *
 * @param detail null when the message says it all (the service's own messages, such as a truncated table's)
 */
public record JobFailure(String message, String detail) {

    static final String SHAPE_CHANGED = "A table of this export changed its shape (a column was dropped, renamed or "
            + "changed its type) and the export, or this consumer's rules for the table, no longer fit it: ask the "
            + "operator to update the consumer's rules, then export again";
    static final String NO_PRIVILEGE = "The service may no longer read a table of this export (a privilege was "
            + "revoked): ask the operator";
    static final String DATABASE_AWAY = "The database went away during the export (a restart or a lost connection): "
            + "export again";
    static final String DATABASE_CANCELLED = "The database cancelled the export's query (a timeout, or an "
            + "operator): export again";
    static final String DATABASE_EXHAUSTED = "The database ran out of resources (disk, memory or connections) "
            + "during the export: export again later";
    static final String DATABASE_CONFLICT = "The export conflicted with another transaction: export again";
    static final String DATABASE_OTHER = "The export failed in the database: export again, and ask the operator if "
            + "it keeps failing";
    static final String STORAGE = "The export's file could not be written to the service's storage: export again "
            + "later, and ask the operator if it keeps failing";
    static final String INTERNAL = "The export failed inside the service: export again, and ask the operator if it "
            + "keeps failing";

    /** @param location where the files go ({@code files.location()}), for the detail of a write failure */
    public static JobFailure of(ExportJob job, Throwable e, String location) {
        // The outermost cause that tells decides: a lost connection is an SQLException caused by a socket's
        // IOException, a full disk under COPY an IOException.
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return new JobFailure(byState(sql.getSQLState(), job), describe(e));
            }
            if (t instanceof IOException || t instanceof UncheckedIOException) {
                Throwable io = t instanceof UncheckedIOException unchecked && unchecked.getCause() != null
                        ? unchecked.getCause() : t;
                String message = io.getMessage() == null ? "" : io.getMessage();
                // File-system messages are terse ("No space left on device", a bare path): say what was being done.
                return new JobFailure(STORAGE, "Cannot write export file " + job.outputFilename() + " in " + location
                        + ": " + io.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message));
            }
            if (t instanceof SdkException storage) {
                // Object storage refused or could not be reached (Iceberg's S3FileIO throws the SDK's own
                // exceptions): the service's storage, not the service, failed.
                String message = storage.getMessage() == null ? "" : storage.getMessage();
                return new JobFailure(STORAGE, "Cannot write export " + job.outputFilename() + " to " + location
                        + ": " + storage.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message));
            }
        }
        if (causedBy(e, CannotGetJdbcConnectionException.class)
                || causedBy(e, SQLTransientConnectionException.class)) {
            return new JobFailure(DATABASE_AWAY, describe(e));
        }
        if (causedBy(e, SQLException.class)) {
            return new JobFailure(DATABASE_OTHER, describe(e));
        }
        if (e instanceof ErrorResponseException refused && refused.getBody().getDetail() != null) {
            return new JobFailure(refused.getBody().getDetail(), null);
        }
        if (ownMessage(e)) {
            return new JobFailure(e.getMessage(), null);
        }
        return new JobFailure(INTERNAL, describe(e));
    }

    private static String byState(String state, ExportJob job) {
        if (state.equals("42501")) {
            return NO_PRIVILEGE + " (" + tables(job) + ")";
        }
        if (state.startsWith("42") || state.startsWith("22")) {
            // Undefined column or table, a type that no longer matches, a rule's value that no longer parses.
            return SHAPE_CHANGED + " (" + tables(job) + ")";
        }
        if (state.startsWith("08") || state.startsWith("57P")) {
            return DATABASE_AWAY;
        }
        if (state.equals("57014")) {
            return DATABASE_CANCELLED;
        }
        if (state.startsWith("53")) {
            return DATABASE_EXHAUSTED;
        }
        if (state.startsWith("40")) {
            return DATABASE_CONFLICT;
        }
        return DATABASE_OTHER;
    }

    private static String tables(ExportJob job) {
        return String.join(", ", job.tables().stream().map(TableName::qualified).toList());
    }

    /**
     * Messages the service writes itself for a job that cannot go on (a truncated table, a key gone, a watermark
     * moved underneath, a value parquet cannot hold) are written for the consumer; a setting's are the operator's.
     */
    private static boolean ownMessage(Throwable e) {
        return (e instanceof IllegalStateException || e instanceof IllegalArgumentException)
                && !(e instanceof InvalidSettingException) && e.getMessage() != null && e.getStackTrace().length > 0
                && e.getStackTrace()[0].getClassName().startsWith("com.cdcexport.");
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** Every message of the chain, outermost first, each once. */
    private static String describe(Throwable e) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (!text.toString().contains(message)) {
                text.append(text.isEmpty() ? "" : " <- ").append(message);
            }
        }
        return text.toString();
    }
}
