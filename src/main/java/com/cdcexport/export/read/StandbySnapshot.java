package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import com.cdcexport.export.model.Snapshot;

/**
 * The exact text of a snapshot taken on a hot standby. PostgreSQL up to 18 keeps a recovery snapshot's running xids
 * in its subtransaction array and reports none of them in {@code pg_current_snapshot()}: on a standby it says
 * {@code 884:966:}, every xid between 884 and 966 finished, while some were still running. A watermark with that text
 * would skip their changes once they commit (the soak on a standby lost 277 rows this way).
 *
 * <p>What a watermark needs is exact for the xids that matter, those with change-log entries of the export's tables:
 * an xid whose entries the transaction sees is finished in it; every other xid of the range is written down as
 * running, whatever it was (one that committed without entries of these tables, or aborted, never has any, so
 * calling it running changes no window). See docs/capture.md, "Reading from a standby".
 */
final class StandbySnapshot {

    /** Xids listed as running at most: a longer range means a transaction that has been open for a very long time. */
    static final long MAX_RUNNING = 2_000_000;

    private StandbySnapshot() {
    }

    /**
     * @param reported what {@code pg_current_snapshot()} said in the transaction (its xmin and xmax are right)
     * @param relids   the export's tables
     */
    static Snapshot exact(Connection connection, Snapshot reported, List<Long> relids) throws SQLException {
        Range range = range(connection, reported);
        return of(range.xmin(), range.xmax(), seen(connection, range, relids));
    }

    /** The reported snapshot's xmin and xmax, which are right on a standby. */
    record Range(long xmin, long xmax) {
    }

    static Range range(Connection connection, Snapshot reported) throws SQLException {
        try (PreparedStatement range = connection.prepareStatement("SELECT pg_snapshot_xmin(?::pg_snapshot)::text::"
                + "bigint, pg_snapshot_xmax(?::pg_snapshot)::text::bigint")) {
            range.setString(1, reported.text());
            range.setString(2, reported.text());
            try (ResultSet rs = range.executeQuery()) {
                rs.next();
                return new Range(rs.getLong(1), rs.getLong(2));
            }
        }
    }

    /** The xids of {@code range} with change-log entries of {@code relids} that the transaction sees, sorted. */
    static List<Long> seen(Connection connection, Range range, List<Long> relids) throws SQLException {
        List<Long> seen = new ArrayList<>();
        try (PreparedStatement entries = connection.prepareStatement("SELECT DISTINCT change_xid::text::bigint FROM "
                + "change_log WHERE table_oid = ANY (?::bigint[]::oid[]) AND change_xid >= ?::text::xid8 AND change_xid < ?::text::xid8 "
                + "ORDER BY 1")) {
            entries.setArray(1, connection.createArrayOf("bigint", relids.toArray()));
            entries.setString(2, Long.toString(range.xmin()));
            entries.setString(3, Long.toString(range.xmax()));
            try (ResultSet rs = entries.executeQuery()) {
                while (rs.next()) {
                    seen.add(rs.getLong(1));
                }
            }
        }
        return seen;
    }

    /**
     * The snapshot in which exactly the xids of {@code seen} (sorted, within [xmin, xmax)) and those below xmin are
     * finished: xmax moves down to just past the last seen xid and xmin up to the first one not seen, and every xid
     * between them not seen is running.
     */
    static Snapshot of(long xmin, long xmax, List<Long> seen) {
        long top = seen.isEmpty() ? xmin : seen.get(seen.size() - 1) + 1;
        if (top - xmin - seen.size() > MAX_RUNNING) {
            throw new IllegalStateException("The standby's snapshot spans " + (top - xmin) + " transaction ids since "
                    + "the oldest one still running (" + xmin + "); an export cannot describe it: end that transaction "
                    + "on the primary, or read on the primary");
        }
        StringJoiner running = new StringJoiner(",");
        long first = -1;
        int next = 0;
        for (long x = xmin; x < top; x++) {
            if (next < seen.size() && seen.get(next) == x) {
                next++;
            } else {
                running.add(Long.toString(x));
                first = first < 0 ? x : first;
            }
        }
        long low = first < 0 ? top : first;
        return new Snapshot(low + ":" + top + ":" + running);
    }
}
