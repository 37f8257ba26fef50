package com.cdcexport.export.read;

import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.CdcProperties.CaptureMode;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.MaskingKey;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.ReadResult.TableResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableShape;

/**
 * Reads one export, of one or several tables, inside one REPEATABLE READ, READ ONLY transaction: every table's
 * rows, counts and the snapshot stored as the next watermark describe exactly the same state of the database, so
 * a transaction that changed two tables is in one export entirely or not at all.
 */
@Component
public class SnapshotReader {

    private static final Logger log = LoggerFactory.getLogger(SnapshotReader.class);
    private static final Pattern PLAN_ROWS = Pattern.compile("\"Plan Rows\":\\s*(\\d+)");
    /** The text forms the files promise, whatever the database's or role's defaults are. */
    static final List<String> SESSION = List.of(
        "SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL IntervalStyle = 'postgres'",
        "SET LOCAL bytea_output = 'hex'", "SET LOCAL extra_float_digits = 1",
        "SET LOCAL standard_conforming_strings = on");

    private final ReadEndpoints endpoints;
    private final String schema;
    private final ParallelCopy parallel;
    private final CapturedTables captured;
    private final Duration catchUpTimeout;
    private final CdcProperties.Standby standby;

    /** Reads on {@code dataSource} alone. */
    public SnapshotReader(DataSource dataSource, CapturedTables tables, ParallelCopy parallel) {
        this(ReadEndpoints.primaryOnly(dataSource), tables, parallel, Duration.ofSeconds(60),
                new CdcProperties.Standby("", Duration.ofSeconds(30), CdcProperties.StandbyFallback.FAIL));
    }

    @Autowired
    public SnapshotReader(ReadEndpoints endpoints, CapturedTables tables, ParallelCopy parallel,
                          CdcProperties properties) {
        this(endpoints, tables, parallel, properties.logical().catchUpTimeout(), properties.standby());
    }

    /**
     * @param catchUpTimeout LOGICAL_CATCH_UP_TIMEOUT: how long an export waits for the decoder
     * @param standby        how exports read on DATABASE_READ_URL's standbys
     */
    public SnapshotReader(ReadEndpoints endpoints, CapturedTables tables, ParallelCopy parallel,
                          Duration catchUpTimeout, CdcProperties.Standby standby) {
        this.endpoints = endpoints;
        this.schema = tables.schema();
        this.parallel = parallel;
        this.captured = tables;
        this.catchUpTimeout = catchUpTimeout;
        this.standby = standby;
    }

    /** As {@link #open(ExportPlan, ExportProgress, Set)}, with no standby to avoid. */
    public SnapshotRead open(ExportPlan plan, ExportProgress progress) throws SQLException {
        return open(plan, progress, Set.of());
    }

    /**
     * Takes the export's snapshot S and plans every table's read in it; the caller then streams each table in
     * order ({@link TableRead#copyTo}) and {@link SnapshotRead#finish() finishes}, or closes the read to abandon it.
     * With standbys configured S is taken on one of them (see {@link ReadStart}).
     *
     * @param avoid standbys to try last: an earlier try of this export lost its read there
     */
    public SnapshotRead open(ExportPlan plan, ExportProgress progress, Set<String> avoid) throws SQLException {
        ParallelCopy.Reader reader = parallel.awaitReader(progress);
        ReadStart.Started started = null;
        try {
            List<TablePlan> logical = plan.tables().stream()
                    .filter(t -> captured.mode(t.table()) == CaptureMode.LOGICAL).toList();
            long deadline = System.nanoTime() + standby.catchUpTimeout().toNanos();
            while (true) {
                started = endpoints.standbys().isEmpty() ? ReadStart.onPrimary(endpoints)
                        : endpoints.waitingForStandby(progress, () -> ReadStart.onStandby(endpoints, plan, avoid,
                                standby.catchUpTimeout(), standby.fallback(), progress::stopping));
                try {
                    return new SnapshotRead(plan, reader, started, logical, progress);
                } catch (SQLException e) {
                    throw lostOnStandby(started.endpoint(), e);
                } catch (LogicalStandbyRead.UncertainSnapshotException e) {
                    // Rare: a commit of a logically captured table was being replayed as S was taken. Another
                    // snapshot almost never meets one.
                    discard(started.endpoint().dataSource(), started.connection());
                    started = null;
                    if (progress.stopping() || System.nanoTime() > deadline) {
                        throw new ReadStart.StandbyBehindException("Nothing was exported: every snapshot taken on "
                                + "the standbys within STANDBY_CATCH_UP_TIMEOUT (" + standby.catchUpTimeout() + ") "
                                + "was uncertain, the last one because " + e.getMessage());
                    }
                }
            }
        } catch (SQLException | RuntimeException | Error e) {
            if (started != null) {
                try {
                    discard(started.endpoint().dataSource(), started.connection());
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            reader.close();
            throw e;
        }
    }

    /**
     * One export's transaction: REPEATABLE READ, READ ONLY unless a filtered consumer's held rows are staged. Its
     * tables are streamed one after another, in the plan's order; nothing is visible to anyone until the commit of
     * the export (which happens elsewhere), and this transaction only reads.
     */
    public final class SnapshotRead implements AutoCloseable {

        private final ExportPlan plan;
        private final ParallelCopy.Reader reader;
        private final ReadEndpoints.Endpoint endpoint;
        private final Connection connection;
        private final PGConnection pg;
        private final Statement statement;
        private final ExportProgress progress;
        private final Optional<MaskingKey> masking;
        /** What the export stores as the watermark (and reads its windows against). */
        private final Snapshot snapshot;
        /** What pg_current_snapshot() says in this transaction: what parallel workers see too. */
        private final Snapshot reported;
        private final Instant at;
        private final List<TableRead> tables = new ArrayList<>();
        private final List<TableResult> results = new ArrayList<>();
        /** On a standby, for tables in log-based capture: their windows' entries. */
        private LogicalStandbyRead logicalOnStandby;
        private ParallelCopy.SharedSnapshot shared;
        private boolean finished;

        /**
         * @param logical the tables in log-based capture: their windows are staged on the primary, and read in
         *                batches on a standby (see {@link LogicalStandbyRead})
         */
        private SnapshotRead(ExportPlan plan, ParallelCopy.Reader reader, ReadStart.Started started,
                             List<TablePlan> logical, ExportProgress progress) throws SQLException {
            this.plan = plan;
            this.reader = reader;
            this.endpoint = started.endpoint();
            this.connection = started.connection();
            this.progress = progress;
            List<TablePlan> staged = logical.stream().filter(t -> t.read().hasWindow()).toList();
            if (!started.begun()) {
                if (!staged.isEmpty()) {
                    LogicalWindow.prepare(connection, schema);
                }
                connection.setAutoCommit(false);
                connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                // A consumer that sees a table through a row filter has what it holds staged in S (see ExportQuery),
                // the one write of an export's transaction on the primary, into the service's own schema.
                connection.setReadOnly(plan.tables().stream().allMatch(t -> t.access().filter().isEmpty()));
            }
            this.pg = connection.unwrap(PGConnection.class);
            progress.attach(pg);
            this.statement = connection.createStatement();
            for (String setting : SESSION) {
                statement.execute(setting);
            }
            this.masking = plan.tables().stream().flatMap(t -> t.access().maskingKey().stream()).findFirst();
            if (masking.isPresent()) {
                masking.get().apply(connection);
            }
            // The first query fixes the transaction's snapshot; pg_current_snapshot() reports that very one.
            ResultSet taken = single(statement, "SELECT pg_current_snapshot()::text, now()");
            progress.snapshotTaken();
            this.reported = new Snapshot(taken.getString(1));
            this.at = taken.getTimestamp(2).toInstant();
            Map<TablePlan, TableShape> shapes = new LinkedHashMap<>();
            for (TablePlan table : plan.tables()) {
                shapes.put(table, TableShape.read(connection, schema, table.table()).orElseThrow(
                        () -> new IllegalStateException("Table " + table.table() + " no longer exists")));
            }
            if (endpoint.standby() && plan.tables().stream().anyMatch(t -> !t.access().filter().isEmpty())) {
                discardStagedOnPrimary();
            }
            // A standby's pg_current_snapshot() lists no running xid: the watermark needs the exact text.
            List<Long> relids = shapes.values().stream().map(TableShape::relid).toList();
            Snapshot exact = reported;
            if (endpoint.standby() && logical.isEmpty()) {
                exact = StandbySnapshot.exact(connection, reported, relids);
            } else if (endpoint.standby()) {
                this.logicalOnStandby = LogicalStandbyRead.open(endpoints, endpoint, schema,
                        captured.slot().name(), catchUpTimeout, progress);
            }
            long total = 0;
            try {
                if (logicalOnStandby != null) {
                    StandbySnapshot.Range range = StandbySnapshot.range(connection, reported);
                    List<Long> seen = StandbySnapshot.seen(connection, range, relids);
                    TreeSet<Long> finishedXids = new TreeSet<>(seen);
                    finishedXids.addAll(logicalOnStandby.finished(logical.stream().map(t -> shapes.get(t).relid())
                            .toList(), range.xmin(), range.xmax(), started.replay(), seen));
                    exact = StandbySnapshot.of(range.xmin(), range.xmax(), List.copyOf(finishedXids));
                }
                this.snapshot = exact;
                if (!staged.isEmpty() && !endpoint.standby()) {
                    List<LogicalWindow.Window> windows = staged.stream().map(table -> new LogicalWindow.Window(
                            shapes.get(table).relid(), table.window().orElseThrow())).toList();
                    LogicalWindow.stage(connection, endpoint.dataSource(), schema, captured.slot().name(), snapshot,
                            windows, catchUpTimeout, progress);
                }
                for (TablePlan table : plan.tables()) {
                    TableRead read = plan(table, shapes.get(table), staged.contains(table));
                    tables.add(read);
                    total = read.expected < 0 || total < 0 ? -1 : total + read.expected;
                }
            } catch (SQLException | RuntimeException | Error e) {
                // The read is never handed out, so nothing else ends the read of the entries.
                closeLogicalOnStandby();
                throw e;
            }
            progress.total(total);
        }

        /** The tables in the plan's order; each is streamed once, in this order. */
        public List<TableRead> tables() {
            return tables;
        }

        /** The snapshot S every table is read in. */
        public Snapshot snapshot() {
            return snapshot;
        }

        /**
         * Ends the read transaction once every table was streamed. The read is then complete: what the watermark
         * moves to (S) and what each table's output holds.
         */
        public ReadResult finish() throws SQLException {
            if (results.size() != tables.size()) {
                throw new IllegalStateException("Only " + results.size() + " of " + tables.size()
                        + " tables were streamed");
            }
            try {
                connection.commit();
            } catch (SQLException e) {
                throw lostOnStandby(endpoint, e);
            }
            finished = true;
            return new ReadResult(snapshot, at, endpoint.name(), results);
        }

        private TableRead plan(TablePlan table, TableShape shape, boolean staged) throws SQLException {
            if (staged && logicalOnStandby != null) {
                return planInBatches(table, shape);
            }
            checkKey(table, shape);
            ExportQuery query = new ExportQuery(table, plan.format(), shape, schema, plan.heldRows(), staged);
            if (table.read().hasWindow() && single(statement, query.truncatedSql()).getBoolean(1)) {
                throw new ResyncRequiredException(table.table(), "was truncated");
            }
            ResultSet summary = single(statement, query.summarySql());
            Timestamp max = summary.getTimestamp(1);
            Map<String, Long> operations = new LinkedHashMap<>();
            if (table.read().hasOperations()) {
                operations.put("INSERT", summary.getLong(3));
                operations.put("UPDATE", summary.getLong(4));
                operations.put("DELETE", summary.getLong(5));
            }
            long expected = query.readsAllLiveRows() ? estimate(statement, query) : summary.getLong(2);
            return new TableRead(this, table, query, Optional.ofNullable(max).map(Timestamp::toInstant), expected,
                    operations, false);
        }

        /**
         * A window of a table in log-based capture read on a standby: its entries come in batches from
         * {@link LogicalStandbyRead}; what the window holds is counted as it streams.
         */
        private TableRead planInBatches(TablePlan table, TableShape shape) throws SQLException {
            checkKey(table, shape);
            Snapshot since = table.window().orElseThrow();
            ExportQuery query = new ExportQuery(table, plan.format(), shape, schema, plan.heldRows(), true);
            if (logicalOnStandby.truncated(shape, snapshot, since)) {
                throw new ResyncRequiredException(table.table(), "was truncated");
            }
            return new TableRead(this, table, query, Optional.empty(), logicalOnStandby.keys(shape, snapshot, since),
                    Map.of(), true);
        }

        private static void checkKey(TablePlan table, TableShape shape) {
            if (shape.key().isEmpty()) {
                throw new IllegalStateException(table.table() + " has no primary key any more; capture needs one "
                        + "to name rows: add it back and restart the service");
            }
            if (table.read().hasWindow() && shape.keyChanged()) {
                throw new ResyncRequiredException(table.table(), "was re-created or its primary key changed");
            }
        }

        private TableResult copy(TableRead table, OutputStream out) throws SQLException, IOException {
            try {
                return copyRows(table, out);
            } catch (SQLException e) {
                throw lostOnStandby(endpoint, e);
            } catch (IOException e) {
                throw lostOnStandby(endpoint, e);
            }
        }

        private TableResult copyRows(TableRead table, OutputStream out) throws SQLException, IOException {
            if (results.size() != tables.indexOf(table)) {
                throw new IllegalStateException(table.plan().table() + " is streamed out of the plan's order");
            }
            if (table.inBatches) {
                TableResult result = copyInBatches(table, out);
                results.add(result);
                return result;
            }
            long rows;
            if (parallel.worthIt(table.query, table.expected)) {
                shared = shared != null ? shared
                        : ParallelCopy.share(statement, reported, masking, endpoint.dataSource());
                rows = parallel.copy(connection, shared, table.query, table.expected, out, progress);
            } else {
                rows = CopyStream.copy(pg, table.query.copySql(), out, progress);
            }
            if (table.query.tracksHeldRows()) {
                if (endpoint.standby()) {
                    stageHeldRowsOnPrimary(table.query);
                } else {
                    statement.execute(table.query.stageHeldRowsSql());
                }
            }
            TableResult result = new TableResult(table.plan(), rows, table.maxUpdatedAt,
                    table.query.hasSoftDeleteColumns(), table.columns(), table.operations);
            results.add(result);
            return result;
        }

        /**
         * The window in batches of whole keys, in key order, each read by the same queries in S: the batches' COPY
         * output joined as chunks are (one header, one binary framing) is byte for byte one COPY of the whole
         * window, and the summary is the batches' summaries added up.
         */
        private TableResult copyInBatches(TableRead table, OutputStream out) throws SQLException, IOException {
            TableShape shape = table.query.shape();
            long rows = 0;
            Instant max = null;
            Map<String, Long> operations = new LinkedHashMap<>();
            List<String> kinds = table.plan().read().hasOperations() ? List.of("INSERT", "UPDATE", "DELETE") : List.of();
            kinds.forEach(kind -> operations.put(kind, 0L));
            try (LogicalStandbyRead.Batches batches = logicalOnStandby.batches(shape, snapshot,
                    table.plan().window().orElseThrow())) {
                String batch = batches.next();
                boolean first = true;
                while (batch != null) {
                    String next = batches.next();
                    ExportQuery part = table.query.over(batch);
                    ResultSet summary = single(statement, part.summarySql());
                    Timestamp partMax = summary.getTimestamp(1);
                    if (partMax != null && (max == null || partMax.toInstant().isAfter(max))) {
                        max = partMax.toInstant();
                    }
                    for (int i = 0; i < kinds.size(); i++) {
                        operations.merge(kinds.get(i), summary.getLong(3 + i), Long::sum);
                    }
                    summary.close();
                    rows += CopyStream.copy(pg, part.copySql(KeyRange.ALL, first), first,
                            plan.format().chunkOutput(out, first, next == null), progress);
                    if (part.tracksHeldRows()) {
                        stageHeldRowsOnPrimary(part);
                    }
                    first = false;
                    batch = next;
                }
            }
            return new TableResult(table.plan(), rows, Optional.ofNullable(max), table.query.hasSoftDeleteColumns(),
                    table.columns(), operations);
        }

        /**
         * What an earlier read of this attempt staged from a standby (committed on the primary as it streamed) and
         * then lost: this read stages it again, in its own snapshot, and two stagings of a key must not meet.
         */
        private void discardStagedOnPrimary() throws SQLException {
            try (Connection primary = endpoints.primary().dataSource().getConnection();
                 PreparedStatement discard = primary.prepareStatement(
                         "DELETE FROM held_rows_pending WHERE job_id = ? AND attempt = ?")) {
                discard.setObject(1, plan.jobId());
                discard.setInt(2, plan.attempt());
                discard.executeUpdate();
            }
        }

        /**
         * A standby cannot be written: what the consumer holds after this export, read in S here, streams into the
         * primary's held_rows_pending (COPY to COPY), keyed by job and attempt as the primary's own staging is, and
         * applied only by the export's commit.
         */
        private void stageHeldRowsOnPrimary(ExportQuery query) throws SQLException {
            try (Connection primary = endpoints.primary().dataSource().getConnection()) {
                CopyStream.pipe(pg, "COPY (" + query.heldRowsSql() + ") TO STDOUT", primary.unwrap(PGConnection.class),
                        query.heldRowsCopyInSql());
            }
        }

        private void closeLogicalOnStandby() {
            try {
                if (logicalOnStandby != null) {
                    logicalOnStandby.close();
                }
            } catch (SQLException e) {
                log.debug("Could not end the read of log-based capture's entries: {}", e.toString());
            }
        }

        /** Abandons the read unless it finished; the connection of an abandoned read is never pooled again. */
        @Override
        public void close() throws SQLException {
            closeLogicalOnStandby();
            try {
                progress.detach(pg);
                progress.snapshotReleased();
                if (finished) {
                    connection.close();
                } else {
                    discard(endpoint.dataSource(), connection);
                }
            } finally {
                reader.close();
            }
        }
    }

    /** One table of an export's read: its file's columns, then its rows, streamed once. */
    public static final class TableRead {

        private final SnapshotRead read;
        private final TablePlan plan;
        private final ExportQuery query;
        private final Optional<Instant> maxUpdatedAt;
        private final long expected;
        private final Map<String, Long> operations;
        /** Whether the window is read in batches (see {@link SnapshotRead#copyInBatches}). */
        private final boolean inBatches;

        private TableRead(SnapshotRead read, TablePlan plan, ExportQuery query, Optional<Instant> maxUpdatedAt,
                          long expected, Map<String, Long> operations, boolean inBatches) {
            this.read = read;
            this.plan = plan;
            this.query = query;
            this.maxUpdatedAt = maxUpdatedAt;
            this.expected = expected;
            this.operations = operations;
            this.inBatches = inBatches;
        }

        public TablePlan plan() {
            return plan;
        }

        /** The output's columns, with their PostgreSQL types and masks, as the format encodes them. */
        public List<FileColumn> columns() {
            return query.fileColumns();
        }

        /** The table's primary key columns, in key order (each is among {@link #columns()}). */
        public List<String> keyColumns() {
            return query.keyColumns();
        }

        /**
         * Streams the table's rows, in the plan's format as COPY renders it (the format's encoder turns that into
         * the output), into {@code out}.
         *
         * @return what was streamed: the rows, and what the watermark and the manifest need of them
         */
        public TableResult copyTo(OutputStream out) throws SQLException, IOException {
            return read.copy(this, out);
        }
    }

    /** A failure of a read on a standby that the standby caused becomes one the pipeline reads again after. */
    private static <E extends Exception> E lostOnStandby(ReadEndpoints.Endpoint endpoint, E failure)
            throws StandbyReadLostException {
        if (endpoint.standby() && StandbyReadLostException.isLost(failure)) {
            throw new StandbyReadLostException(endpoint.name(), failure);
        }
        return failure;
    }

    private static long estimate(Statement statement, ExportQuery query) throws SQLException {
        Matcher rows = PLAN_ROWS.matcher(single(statement, query.estimateSql()).getString(1));
        return rows.find() ? Long.parseLong(rows.group(1)) : -1;
    }

    private static ResultSet single(Statement statement, String sql) throws SQLException {
        ResultSet rs = statement.executeQuery(sql);
        rs.next();
        return rs;
    }

    /**
     * A COPY cut short (file system full, connection lost) can leave unread protocol messages on the connection,
     * and the next user of it would read them as its own results. Such a connection is closed, not pooled.
     */
    static void discard(DataSource dataSource, Connection connection) throws SQLException {
        if (dataSource.isWrapperFor(HikariDataSource.class)) {
            dataSource.unwrap(HikariDataSource.class).evictConnection(connection);
        } else {
            connection.abort(Runnable::run);
        }
    }
}
