package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.cdcexport.config.CdcProperties.StandbyFallback;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.read.ReadEndpoints.Endpoint;

/**
 * Where one export reads, and the start of its transaction there. On a standby the transaction's snapshot S is
 * used only if it contains C, the primary's snapshot when the job was claimed (docs/capture.md, "Reading from a
 * standby"): then every watermark the export continues from is in S, and no change is lost or sent twice.
 */
public final class ReadStart {

    private static final Logger log = LoggerFactory.getLogger(ReadStart.class);
    private static final long POLL_MILLIS = 20;

    private ReadStart() {
    }

    /** A connection whose transaction, if {@code begun}, already holds its snapshot (the standby's case). */
    record Started(Endpoint endpoint, Connection connection, boolean begun) {
    }

    /** The export reads on the primary: its transaction starts later, as it always did. */
    static Started onPrimary(ReadEndpoints endpoints) throws SQLException {
        return new Started(endpoints.primary(), endpoints.primary().dataSource().getConnection(), false);
    }

    /**
     * The first standby, in DATABASE_READ_URL's order with {@code avoid} last, whose snapshot contains {@code claimed};
     * tried again every 20 ms until {@code timeout}, then the primary or a failure as {@code fallback} says.
     *
     * @param avoid    standbys a previous try of this export failed on
     * @param stopping whether the export was cancelled or lost its claim meanwhile
     */
    static Started onStandby(ReadEndpoints endpoints, Snapshot claimed, Set<String> avoid, Duration timeout,
                             StandbyFallback fallback, BooleanSupplier stopping) throws SQLException {
        List<Endpoint> order = new ArrayList<>(endpoints.standbys().stream()
                .filter(s -> !avoid.contains(s.name())).toList());
        endpoints.standbys().stream().filter(s -> avoid.contains(s.name())).forEach(order::add);
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> why = new ArrayList<>();
        while (true) {
            why.clear();
            for (Endpoint standby : order) {
                Connection connection = null;
                try {
                    connection = standby.dataSource().getConnection();
                    if (caughtUp(connection, claimed)) {
                        return new Started(standby, connection, true);
                    }
                    why.add(standby.name() + " has not replayed it yet");
                    connection.rollback();
                    connection.close();
                } catch (SQLException e) {
                    why.add(standby.name() + " cannot be read (" + e.getSQLState() + ")");
                    log.debug("Passing over {}: {}", standby.name(), e.toString());
                    if (connection != null) {
                        SnapshotReader.discard(standby.dataSource(), connection);
                    }
                }
            }
            if (stopping.getAsBoolean()) {
                throw new IllegalStateException("The export stopped while it waited for a standby");
            }
            if (System.nanoTime() > deadline) {
                break;
            }
            sleep();
        }
        String reason = "no standby of DATABASE_READ_URL had replayed the moment this job was claimed within "
                + "STANDBY_CATCH_UP_TIMEOUT (" + timeout + "): " + String.join("; ", why);
        if (fallback == StandbyFallback.PRIMARY) {
            log.warn("Reading an export on the primary (STANDBY_FALLBACK=primary): {}", reason);
            return onPrimary(endpoints);
        }
        throw new StandbyBehindException("Nothing was exported: " + reason);
    }

    /**
     * Begins the export's transaction on {@code connection} and tells whether its snapshot S contains C: every xid
     * C sees as finished, S does too (S's xmax is not below C's, and nothing S still sees running is finished in C).
     * This query is the transaction's first, so S is the snapshot the whole export reads in.
     */
    private static boolean caughtUp(Connection connection, Snapshot claimed) throws SQLException {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        connection.setReadOnly(true);
        String c = claimed.sqlLiteral();
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_snapshot_xmax(pg_current_snapshot()) >= "
                     + "pg_snapshot_xmax(" + c + ") AND NOT EXISTS (SELECT 1 FROM pg_snapshot_xip("
                     + "pg_current_snapshot()) x WHERE pg_visible_in_snapshot(x, " + c + "))")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for a standby", e);
        }
    }

    /** No standby caught up in time and STANDBY_FALLBACK=fail: the job fails, nothing moved. */
    public static final class StandbyBehindException extends IllegalStateException {
        StandbyBehindException(String message) {
            super(message);
        }
    }
}
