package com.cdcexport.export.model;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.postgresql.PGConnection;

/**
 * A running export as others see it: rows written so far, rows expected, and a way to stop it. The export's own
 * thread writes; heartbeats, the API and cancellation read from other threads.
 */
public final class ExportProgress {

    private final AtomicLong rows = new AtomicLong();
    private volatile long totalRows = -1;
    /** Every connection reading for the export: one, or a parallel export's coordinator and workers. */
    private final List<PGConnection> connections = new ArrayList<>();
    private volatile long snapshotSince;
    private volatile boolean cancelled;
    private volatile boolean claimLost;
    private volatile Wait waitingFor;

    /** What a running export can wait for before it reads; its job shows it while the wait lasts. */
    public enum Wait {
        /** one of the instance's reader connections (EXPORT_READERS), all busy with other exports */
        READER,
        /** a standby to replay the job's claim and the watermarks it continues from (STANDBY_CATCH_UP_TIMEOUT) */
        STANDBY,
        /** the log-based capture's decoder to pass the export's snapshot (LOGICAL_CATCH_UP_TIMEOUT) */
        CAPTURE;

        public String slug() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The end of a wait: closing it clears what the export waits for. */
    @FunctionalInterface
    public interface Waiting extends AutoCloseable {
        @Override
        void close();
    }

    /** What the export waits for now, if anything. */
    public Optional<Wait> waitingFor() {
        return Optional.ofNullable(waitingFor);
    }

    /** Marks the export as waiting for {@code wait} until the returned handle is closed. */
    public Waiting waitFor(Wait wait) {
        waitingFor = wait;
        return () -> waitingFor = null;
    }

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

    /** Whether the export was told to stop (cancel or lost claim): a reader starts no further statement. */
    public boolean stopping() {
        return cancelled;
    }

    /** Stops the export because another attempt owns the job now: a failure of this runner, not a cancel. */
    public void loseClaim() {
        claimLost = true;
        cancel();
    }

    /**
     * Stops the export: the running statement of each of its connections is cancelled on the server; one not yet
     * started never begins.
     */
    public synchronized void cancel() {
        cancelled = true;
        connections.forEach(ExportProgress::cancelQuery);
    }

    public static void cancelQuery(PGConnection connection) {
        try {
            connection.cancelQuery();
        } catch (SQLException ignored) {
            // the statement finished or the connection is gone: either way it is no longer running
        }
    }

    /**
     * Nanos (System.nanoTime) since the export took its snapshot, or 0 when it holds none: while it does, vacuum
     * cannot remove rows that died after it.
     */
    public long snapshotAgeNanos() {
        long since = snapshotSince;
        return since == 0 ? 0 : Math.max(1, System.nanoTime() - since);
    }

    public void snapshotTaken() {
        snapshotSince = System.nanoTime();
    }

    public void snapshotReleased() {
        snapshotSince = 0;
    }

    /** A connection of the capture, from its first statement until {@link #detach}. */
    public synchronized void attach(PGConnection pgConnection) throws SQLException {
        if (cancelled) {
            throw new SQLException(claimLost ? "Export stopped: this runner lost its claim" : "Export cancelled");
        }
        connections.add(pgConnection);
    }

    /** Before the connection goes back to the pool, where cancelling it would hit someone else's statement. */
    public synchronized void detach(PGConnection pgConnection) {
        connections.remove(pgConnection);
    }

    public void total(long total) {
        totalRows = total;
    }

    /** Rows written, added in batches by each thread that copies (several in a parallel export). */
    public void add(long written) {
        rows.getAndAdd(written);
    }
}
