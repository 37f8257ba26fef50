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
    private volatile boolean claimLost;

    public long rows() {
        return rows.get();
    }

    /** Rows the export will write, or -1 while not yet known. */
    public long totalRows() {
        return totalRows;
    }

    /** Whether someone asked for the export to stop (see {@link #loseClaim()} for the other reason it stops). */
    public boolean isCancelled() {
        return cancelled && !claimLost;
    }

    /** Whether the export stopped because its runner no longer holds the job (taken for dead, run again). */
    public boolean isClaimLost() {
        return claimLost;
    }

    /** Stops the export because another attempt owns the job now: a failure of this runner, not a cancel. */
    public void loseClaim() {
        claimLost = true;
        cancel();
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
            throw new SQLException(claimLost ? "Export stopped: this runner lost its claim" : "Export cancelled");
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
