package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.cdcexport.config.CdcProperties.StandbyFallback;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.read.ReadEndpoints.Endpoint;

/**
 * Where one export reads, and the start of its transaction there. On a standby the transaction's snapshot S is
 * used only once the standby has replayed the job's claim and its watermarks (docs/capture.md, "Reading from a
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
     * The first standby, in DATABASE_READ_URL's order with {@code avoid} last, that has replayed {@code plan}'s claim
     * and watermarks;
     * tried again every 20 ms until {@code timeout}, then the primary or a failure as {@code fallback} says.
     *
     * @param avoid    standbys a previous try of this export failed on
     * @param stopping whether the export was cancelled or lost its claim meanwhile
     */
    static Started onStandby(ReadEndpoints endpoints, ExportPlan plan, Set<String> avoid, Duration timeout,
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
                    if (caughtUp(connection, plan)) {
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
     * Begins the export's transaction on {@code connection} and tells whether its snapshot S has replayed the
     * plan: the job's claim by this attempt, and every table's watermark as the planner read it. A standby replays
     * commits in the primary's order, so S then sees everything committed before them, every watermark P's
     * snapshot included. Rows are compared, not snapshot texts: a standby's pg_current_snapshot() lists none of its
     * running xids (see {@link StandbySnapshot}). This query is the transaction's first, so S is the snapshot the
     * whole export reads in.
     */
    private static boolean caughtUp(Connection connection, ExportPlan plan) throws SQLException {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        connection.setReadOnly(true);
        try (PreparedStatement claim = connection.prepareStatement(
                "SELECT attempts FROM export_jobs WHERE id = ?")) {
            claim.setObject(1, plan.jobId());
            try (ResultSet rs = claim.executeQuery()) {
                if (!rs.next() || rs.getInt(1) < plan.attempt()) {
                    return false;
                }
            }
        }
        try (PreparedStatement watermark = connection.prepareStatement(
                "SELECT snapshot::text FROM watermarks WHERE consumer_id = ? AND table_name = ?")) {
            for (TablePlan table : plan.tables()) {
                watermark.setString(1, plan.consumer().value());
                watermark.setString(2, table.table().qualified());
                try (ResultSet rs = watermark.executeQuery()) {
                    Optional<String> replayed = rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
                    if (!replayed.equals(table.watermark().map(Snapshot::text))) {
                        return false;
                    }
                }
            }
        }
        return true;
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
