package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;

import org.postgresql.PGConnection;

import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.sql.SqlText;

/**
 * The change windows of logically captured tables, made exact for an export (docs/capture.md, "Visibility").
 *
 * <p>The decoder commits a source transaction's entries after the transaction itself, so the export's snapshot S
 * can see a transaction whose entries it cannot see. After S is taken, the export writes a marker into the WAL; every
 * transaction S sees committed before it, so once the decoder has applied the marker, every entry of those
 * transactions is committed. They are then read through another connection (whose snapshot is newer than the
 * decoder's commit), with S's window rule on the source xid, into a temporary table of the export's own session,
 * which every query of the export reads instead of the change log.
 */
final class LogicalWindow {

    private static final String COLUMNS = "table_oid, change_xid, seq, op, key, old_row, changed_at";
    private static final long POLL_MILLIS = 5;

    private LogicalWindow() {
    }

    /** The session's staging table, created outside the export's transaction (which may be READ ONLY). */
    static void prepare(Connection connection, String schema) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("CREATE TEMP TABLE IF NOT EXISTS cdc_change_window (LIKE " + SqlText.identifier(schema)
                    + ".change_log) ON COMMIT DELETE ROWS");
        }
    }

    /**
     * Waits until the decoder has passed a marker written after {@code snapshot} was taken, then stages the window
     * (P, S] of each table, read by another connection of {@code dataSource}.
     *
     * @param progress the export's: whether it was cancelled meanwhile, and where its job shows the wait
     */
    static void stage(Connection exporting, DataSource dataSource, String schema, String slot, Snapshot snapshot,
                      List<Window> windows, Duration timeout, ExportProgress progress)
            throws SQLException {
        String marker = mark(exporting);
        String s = SqlText.identifier(schema);
        try (Connection reading = dataSource.getConnection()) {
            flushWal(reading);
            try (ExportProgress.Waiting waiting = progress.waitFor(ExportProgress.Wait.CAPTURE)) {
                awaitDecoder(reading, s, slot, marker, timeout, progress::stopping);
            }
            for (Window window : windows) {
                String select = "SELECT " + COLUMNS + " FROM " + s + ".change_log l WHERE l.table_oid = " + window.relid()
                        + " AND l.change_xid >= pg_snapshot_xmin(" + window.since().sqlLiteral() + ")"
                        + " AND NOT pg_visible_in_snapshot(l.change_xid, " + window.since().sqlLiteral() + ")"
                        + " AND pg_visible_in_snapshot(l.change_xid, " + snapshot.sqlLiteral() + ")";
                CopyStream.pipe(reading.unwrap(PGConnection.class), "COPY (" + select + ") TO STDOUT",
                        exporting.unwrap(PGConnection.class),
                        "COPY " + ExportQuery.STAGED_WINDOW + " (" + COLUMNS + ") FROM STDIN");
            }
            try (Statement statement = exporting.createStatement()) {
                statement.execute("ANALYZE " + ExportQuery.STAGED_WINDOW);
            }
        }
    }

    /**
     * Writes a marker into the WAL, after every commit that a snapshot taken before it (here or on a standby of this
     * server) can see: once the decoder has applied it, their entries are committed.
     *
     * @return the marker's position
     */
    static String mark(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_logical_emit_message(false, 'cdc_export', "
                     + "pg_current_snapshot()::text)::text")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * A non-transactional message is written to the WAL but not flushed, and the walsender decodes flushed WAL only:
     * on a database nobody writes to, the marker would wait for the next commit of anyone (measured: up to the
     * service's 5-second heartbeat). Committing a transaction that has an xid flushes the WAL up to its commit
     * record, past the marker.
     */
    static void flushWal(Connection autocommit) throws SQLException {
        try (Statement statement = autocommit.createStatement()) {
            statement.execute("SELECT pg_current_xact_id()");
        }
    }

    static void awaitDecoder(Connection reading, String schema, String slot, String marker, Duration timeout,
                                     BooleanSupplier stop) throws SQLException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (PreparedStatement passed = reading.prepareStatement("SELECT applied_lsn >= ?::pg_lsn, applied_lsn::text "
                + "FROM " + schema + ".logical_capture WHERE slot_name = ?")) {
            passed.setString(1, marker);
            passed.setString(2, slot);
            while (true) {
                String applied = "none";
                try (ResultSet rs = passed.executeQuery()) {
                    if (rs.next()) {
                        if (rs.getBoolean(1)) {
                            return;
                        }
                        applied = rs.getString(2);
                    }
                }
                if (stop.getAsBoolean()) {
                    throw new IllegalStateException("Export stopped while waiting for the log-based capture");
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Log-based capture is behind: the decoder has not passed this "
                            + "export's snapshot (WAL " + marker + ") within LOGICAL_CATCH_UP_TIMEOUT=" + timeout
                            + " (it has applied up to " + applied + "); check that an instance with the logically "
                            + "captured tables in EXPORT_TABLES is running and see its cdc_capture_logical_* metrics");
                }
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("Interrupted while waiting for the log-based capture", e);
                }
            }
        }
    }

    /** One logically captured table's window: its OID and the consumer's previous snapshot P. */
    record Window(long relid, Snapshot since) {
    }
}
