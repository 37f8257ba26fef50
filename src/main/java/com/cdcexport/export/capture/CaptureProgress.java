package com.cdcexport.export.capture;

import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicLong;

import org.postgresql.PGConnection;

/**
 * A running export as others see it: rows written so far, rows expected, and a way to stop it. The export's own
 * thread writes; heartbeats, the API and cancellation read from other threads.
 */
public final class CaptureProgress {

    private final AtomicLong rows = new AtomicLong();
    private volatile long totalRows = -1;
    private PGConnection connection;
    private volatile boolean cancelled;

    public long rows() {
        return rows.get();
    }

    /** Rows the export will write, or -1 while not yet known. */
    public long totalRows() {
        return totalRows;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Stops the export: its running statement is cancelled on the server; one not yet started never begins. */
    public synchronized void cancel() {
        cancelled = true;
        if (connection != null) {
            try {
                connection.cancelQuery();
            } catch (SQLException ignored) {
                // the statement finished or the connection is gone: either way it is no longer running
            }
        }
    }

    /** The capture's connection, from its first statement until {@link #detach()}. */
    synchronized void attach(PGConnection pgConnection) throws SQLException {
        if (cancelled) {
            throw new SQLException("Export cancelled");
        }
        connection = pgConnection;
    }

    /** Before the connection goes back to the pool, where cancelling it would hit someone else's statement. */
    synchronized void detach() {
        connection = null;
    }

    void total(long total) {
        totalRows = total;
    }

    /** Called for every row by the export's one writing thread: an ordered store, no atomic increment. */
    void row() {
        rows.lazySet(rows.get() + 1);
    }
}
