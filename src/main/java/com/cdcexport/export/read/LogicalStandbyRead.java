package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;

import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableShape;
import com.cdcexport.export.read.ReadEndpoints.Endpoint;
import com.cdcexport.export.read.ReadStart.ReplayBracket;
import com.cdcexport.sql.SqlText;

/**
 * What an export whose snapshot S was taken on a hot standby needs of the tables in log-based capture
 * (docs/capture.md, "Log-based capture on a standby"): which of their source transactions S sees, and the entries of
 * their change windows.
 *
 * <p>The decoder writes a transaction's entries after the transaction, so S may see a transaction whose entries it
 * cannot see, and the standby's own snapshot text does not say which transactions S sees. The decoder keeps each
 * entry's commit record position; S sees every commit that ended before replay stood at {@link ReplayBracket#before},
 * none that began after {@link ReplayBracket#after}, and a commit in between makes S uncertain: the export takes
 * another snapshot. The entries are read through a second connection once the decoder has passed S, and go into the
 * queries that run in S as literal batches (a standby can hold no temporary table). That connection is to the same
 * standby when it sends hot_standby_feedback and replays what the decoder wrote within {@link #ENTRIES_REPLAY_WAIT};
 * otherwise replay may be waiting for S itself (a recovery conflict), and the entries, and only they, are read on
 * the primary.
 */
final class LogicalStandbyRead implements AutoCloseable {

    /**
     * The largest WAL page header: a record that starts right after a replayed one may start this much later, when
     * the replayed one ended at a page (or segment) boundary.
     */
    static final long PAGE_HEADER = 40;
    /** A batch of a window's entries is cut at the first key boundary past this many characters of JSON. */
    static final int BATCH_CHARS = 4 << 20;
    private static final long POLL_MILLIS = 5;
    /**
     * How long the standby may take to replay the decoder's entries before they are read on the primary. Replay
     * normally takes milliseconds; longer, it is likely waiting for a snapshot of this very export (a recovery
     * conflict), and would wait up to max_standby_streaming_delay and then cancel the export.
     */
    static final Duration ENTRIES_REPLAY_WAIT = Duration.ofSeconds(1);

    /** Where {@link #entries} comes from. */
    private final DataSource source;
    private final Connection entries;
    private final String schema;

    LogicalStandbyRead(DataSource source, Connection entries, String schema) {
        this.source = source;
        this.entries = entries;
        this.schema = schema;
    }

    /**
     * Waits until the decoder has passed every transaction S can see, then opens the connection entries are read
     * through: on the standby once it has replayed what the decoder wrote for them, or on the primary when it sends
     * no feedback or has not replayed them within {@link #ENTRIES_REPLAY_WAIT}.
     *
     * @param endpoints where the marker is written and the decoder's progress read (the primary: bookkeeping, no
     *                  export data), and where the choice of the entries' side is counted
     * @param standby   the standby S was taken on
     * @param slot      the decoder's replication slot
     */
    static LogicalStandbyRead open(ReadEndpoints endpoints, Endpoint standby, String schema, String slot,
                                   Duration decoderTimeout, ExportProgress progress) throws SQLException {
        Endpoint primary = endpoints.primary();
        String s = SqlText.identifier(schema);
        long written;
        try (Connection bookkeeping = primary.dataSource().getConnection()) {
            String marker = LogicalWindow.mark(bookkeeping);
            LogicalWindow.flushWal(bookkeeping);
            try (ExportProgress.Waiting waiting = progress.waitFor(ExportProgress.Wait.CAPTURE)) {
                LogicalWindow.awaitDecoder(bookkeeping, s, slot, marker, decoderTimeout, progress::stopping);
            }
            // The decoder has committed the entries of every transaction up to the marker: they are in the WAL
            // before this position.
            try (Statement statement = bookkeeping.createStatement();
                 ResultSet rs = statement.executeQuery("SELECT pg_current_wal_insert_lsn()::text")) {
                rs.next();
                written = ReadStart.lsn(rs.getString(1));
            }
        }
        Endpoint source = standby;
        Connection entries = standby.dataSource().getConnection();
        try {
            boolean replayed = false;
            if (sendsFeedback(entries)) {
                try (ExportProgress.Waiting waiting = progress.waitFor(ExportProgress.Wait.STANDBY)) {
                    replayed = replayed(entries, written, progress::stopping, standby.name());
                }
            }
            if (!replayed) {
                entries.close();
                entries = null;
                source = primary;
                entries = primary.dataSource().getConnection();
            }
            // Each read of entries in a transaction of its own, ended as soon as it is done (a window's batches need
            // a cursor, so a transaction): no snapshot of the primary, or of the standby, is held while the export
            // reads its tables. The entries they read do not change in between: the decoder adds only entries of
            // transactions S does not see, and the pruner removes none that this consumer's watermark does not.
            entries.setAutoCommit(false);
            entries.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            entries.setReadOnly(true);
            endpoints.logicalEntriesRead(source);
            return new LogicalStandbyRead(source.dataSource(), entries, schema);
        } catch (SQLException | RuntimeException e) {
            if (entries != null) {
                SnapshotReader.discard(source.dataSource(), entries);
            }
            throw e;
        }
    }

    /**
     * The source transactions of {@code relids} (tables in log-based capture) that S sees among those from the
     * reported snapshot's xmin up to its xmax, beside {@code seenInS} (the xids whose entries S itself sees).
     *
     * @throws UncertainSnapshotException when a commit of one of them was being replayed as S was taken
     */
    List<Long> finished(List<Long> relids, long xmin, long xmax, ReplayBracket replay, List<Long> seenInS)
            throws SQLException {
        TreeSet<Long> seen = new TreeSet<>(seenInS);
        List<Long> finished = new ArrayList<>();
        try (PreparedStatement commits = entries.prepareStatement("SELECT DISTINCT change_xid::text::bigint, "
                + "commit_lsn::text, commit_end_lsn::text FROM " + SqlText.identifier(schema) + ".change_log "
                + "WHERE table_oid = ANY (?::bigint[]::oid[]) AND change_xid >= ?::text::xid8 "
                + "AND change_xid < ?::text::xid8 AND commit_end_lsn IS NOT NULL")) {
            commits.setArray(1, entries.createArrayOf("bigint", relids.toArray()));
            commits.setString(2, Long.toString(xmin));
            commits.setString(3, Long.toString(xmax));
            try (ResultSet rs = commits.executeQuery()) {
                while (rs.next()) {
                    long xid = rs.getLong(1);
                    if (seen.contains(xid)) {
                        continue;
                    }
                    long start = ReadStart.lsn(rs.getString(2));
                    long end = ReadStart.lsn(rs.getString(3));
                    if (end <= replay.before()) {
                        finished.add(xid);
                    } else if (start <= replay.after() + PAGE_HEADER) {
                        throw new UncertainSnapshotException(xid);
                    }
                }
            }
        }
        entries.commit();
        return finished;
    }

    /** Whether the window (P, S] of a table holds a TRUNCATE: its removed rows cannot be named. */
    boolean truncated(TableShape shape, Snapshot snapshot, Snapshot since) throws SQLException {
        try (Statement statement = entries.createStatement();
             ResultSet rs = statement.executeQuery("SELECT EXISTS (SELECT 1 FROM " + SqlText.identifier(schema)
                     + ".change_log l WHERE " + window(shape, snapshot, since) + " AND l.op = 'T')")) {
            rs.next();
            return rs.getBoolean(1);
        } finally {
            entries.commit();
        }
    }

    /** The keys the window (P, S] names: what its export reads at most. */
    long keys(TableShape shape, Snapshot snapshot, Snapshot since) throws SQLException {
        try (Statement statement = entries.createStatement();
             ResultSet rs = statement.executeQuery("SELECT count(DISTINCT l.key) FROM " + SqlText.identifier(schema)
                     + ".change_log l WHERE " + window(shape, snapshot, since))) {
            rs.next();
            return rs.getLong(1);
        } finally {
            entries.commit();
        }
    }

    /**
     * The window's entries in batches, in the order of the table's key (each key's entries in one batch), each as a
     * relation with the change log's columns for the queries in S: the batches' rows in turn are the window's rows in
     * the order one query over the whole window gives. There is always a first batch, empty for an empty window.
     */
    Batches batches(TableShape shape, Snapshot snapshot, Snapshot since) throws SQLException {
        return new Batches(shape, "SELECT json_build_object('change_xid', l.change_xid, 'seq', l.seq, 'op', l.op, "
                + "'key', l.key, 'old_row', l.old_row, 'changed_at', l.changed_at)::text, l.key::text FROM "
                + SqlText.identifier(schema) + ".change_log l WHERE " + window(shape, snapshot, since)
                + " ORDER BY " + keyOrder(shape) + ", l.change_xid, l.seq");
    }

    /** Entries of the table visible in S and not in P. */
    private static String window(TableShape shape, Snapshot snapshot, Snapshot since) {
        return "l.table_oid = " + shape.relid() + " AND l.change_xid >= pg_snapshot_xmin(" + since.sqlLiteral() + ")"
                + " AND NOT pg_visible_in_snapshot(l.change_xid, " + since.sqlLiteral() + ")"
                + " AND pg_visible_in_snapshot(l.change_xid, " + snapshot.sqlLiteral() + ")";
    }

    /**
     * The entries' keys typed and collated as the table's key columns are, so batches follow the order of the
     * export's {@code ORDER BY} of the table's rows.
     */
    private String keyOrder(TableShape shape) throws SQLException {
        List<String> order = new ArrayList<>();
        try (PreparedStatement collation = entries.prepareStatement("SELECT quote_ident(n.nspname) || '.' || "
                + "quote_ident(c.collname) FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation "
                + "JOIN pg_namespace n ON n.oid = c.collnamespace WHERE a.attrelid = ?::oid AND a.attname = ?")) {
            List<TableShape.Column> key = shape.key();
            for (int i = 0; i < key.size(); i++) {
                collation.setLong(1, shape.relid());
                collation.setString(2, key.get(i).name());
                String collate = "";
                try (ResultSet rs = collation.executeQuery()) {
                    if (rs.next()) {
                        collate = " COLLATE " + rs.getString(1);
                    }
                }
                order.add("(l.key ->> " + i + ")::" + key.get(i).type() + collate);
            }
        }
        return String.join(", ", order);
    }

    /** A table's window entries, read with a cursor, handed out a batch at a time. */
    final class Batches implements AutoCloseable {

        private final TableShape shape;
        private final Statement statement;
        private final ResultSet rows;
        private boolean more;
        private boolean started;

        private Batches(TableShape shape, String sql) throws SQLException {
            this.shape = shape;
            this.statement = entries.createStatement();
            statement.setFetchSize(1000);
            this.rows = statement.executeQuery(sql);
            this.more = rows.next();
        }

        /** The next batch as a relation for a FROM clause, or null once every entry was handed out. */
        String next() throws SQLException {
            if (started && !more) {
                return null;
            }
            started = true;
            StringBuilder json = new StringBuilder("[");
            String lastKey = null;
            while (more) {
                String key = rows.getString(2);
                if (json.length() >= BATCH_CHARS && !key.equals(lastKey)) {
                    break;
                }
                json.append(json.length() == 1 ? "" : ",").append(rows.getString(1));
                lastKey = key;
                more = rows.next();
            }
            return "(SELECT " + shape.relid() + "::oid AS table_oid, w.* FROM jsonb_to_recordset("
                    + SqlText.literal(json.append(']').toString()) + "::jsonb) AS w(change_xid xid8, seq bigint, "
                    + "op \"char\", key jsonb, old_row jsonb, changed_at timestamptz))";
        }

        @Override
        public void close() throws SQLException {
            try {
                statement.close();
            } finally {
                entries.commit();
            }
        }
    }

    /**
     * Whether the standby tells the primary which rows its queries still see (hot_standby_feedback). Without it,
     * vacuum on the primary removes rows S still sees and replay waits for S to end: under writes that is the common
     * case (the standby soak measured it), so the entries are read on the primary without waiting.
     */
    private static boolean sendsFeedback(Connection standby) throws SQLException {
        try (Statement statement = standby.createStatement();
             ResultSet rs = statement.executeQuery("SELECT current_setting('hot_standby_feedback')::boolean")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** Whether the standby replays up to {@code target} within {@link #ENTRIES_REPLAY_WAIT}. */
    private static boolean replayed(Connection connection, long target, BooleanSupplier stop, String standby)
            throws SQLException {
        long deadline = System.nanoTime() + ENTRIES_REPLAY_WAIT.toNanos();
        try (Statement statement = connection.createStatement()) {
            while (true) {
                try (ResultSet rs = statement.executeQuery("SELECT pg_last_wal_replay_lsn()::text")) {
                    rs.next();
                    if (ReadStart.lsn(rs.getString(1)) >= target) {
                        return true;
                    }
                }
                if (stop.getAsBoolean()) {
                    throw new IllegalStateException("Export stopped while waiting for " + standby);
                }
                if (System.nanoTime() > deadline) {
                    return false;
                }
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("Interrupted while waiting for " + standby, e);
                }
            }
        }
    }

    /** Ends the entries' read; a connection a failure may have left mid-read is never pooled again. */
    @Override
    public void close() throws SQLException {
        try {
            entries.rollback();
        } catch (SQLException e) {
            SnapshotReader.discard(source, entries);
            return;
        }
        entries.close();
    }

    /**
     * A commit of a logically captured table was being replayed as the export's snapshot was taken on the standby,
     * so whether the snapshot sees it cannot be told: the export takes another snapshot.
     */
    static final class UncertainSnapshotException extends RuntimeException {
        UncertainSnapshotException(long xid) {
            super("the standby was replaying the commit of transaction " + xid + " (log-based capture) as the "
                    + "snapshot was taken");
        }
    }
}
