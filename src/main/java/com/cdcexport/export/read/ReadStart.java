package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.postgresql.replication.LogSequenceNumber;

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

    /**
     * A connection whose transaction, if {@code begun}, already holds its snapshot (the standby's case).
     *
     * @param replay on a standby, where replay stood around the moment the snapshot was taken; null on the primary
     */
    record Started(Endpoint endpoint, Connection connection, boolean begun, ReplayBracket replay) {
    }

    /**
     * The standby's replay position ({@code pg_last_wal_replay_lsn()}, the end of the last WAL record replayed) read
     * just before the transaction took its snapshot and just after. Every commit record ending at or before
     * {@code before} had been replayed, so the snapshot sees its transaction; one starting past {@code after} (and
     * the page header that may follow it) had not begun to be replayed, so the snapshot does not. Only a commit in
     * between is in doubt (see LogicalStandbyRead).
     */
    record ReplayBracket(long before, long after) {
    }

    /** The export reads on the primary: its transaction starts later, as it always did. */
    static Started onPrimary(ReadEndpoints endpoints) throws SQLException {
        return new Started(endpoints.primary(), endpoints.primary().dataSource().getConnection(), false, null);
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
                    // The transaction's settings first, so that between reading where replay stood and taking the
                    // snapshot lies one round trip, not three: a commit replayed in between makes S uncertain.
                    connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                    connection.setReadOnly(true);
                    long before = replayed(connection);
                    OptionalLong after = caughtUp(connection, plan);
                    if (after.isPresent()) {
                        return new Started(standby, connection, true, new ReplayBracket(before, after.getAsLong()));
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
     * whole export reads in. The connection is REPEATABLE READ and read-only already.
     *
     * @return where replay stood just after S was taken, when S has replayed the plan; empty otherwise
     */
    private static OptionalLong caughtUp(Connection connection, ExportPlan plan) throws SQLException {
        connection.setAutoCommit(false);
        long after;
        // The snapshot is taken as this statement starts; the replay position is read while it runs, so after it.
        try (PreparedStatement claim = connection.prepareStatement(
                "SELECT j.attempts, pg_last_wal_replay_lsn()::text FROM (SELECT 1) AS one "
                        + "LEFT JOIN export_jobs j ON j.id = ?")) {
            claim.setObject(1, plan.jobId());
            try (ResultSet rs = claim.executeQuery()) {
                rs.next();
                if (rs.getObject(1) == null || rs.getInt(1) < plan.attempt()) {
                    return OptionalLong.empty();
                }
                after = lsn(rs.getString(2));
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
                        return OptionalLong.empty();
                    }
                }
            }
        }
        return OptionalLong.of(after);
    }

    /** The standby's replay position, read outside any transaction, before the export's begins. */
    private static long replayed(Connection connection) throws SQLException {
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_last_wal_replay_lsn()::text")) {
            rs.next();
            return lsn(rs.getString(1));
        }
    }

    /** An LSN's text as a number, 0 for none (a server that is not replaying). */
    static long lsn(String text) {
        return text == null ? 0 : LogSequenceNumber.valueOf(text).asLong();
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
