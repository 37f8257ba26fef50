package com.cdcexport.export.read;

import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.PGConnection;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.CdcProperties.CaptureMode;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.EncodedOutput;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.MaskingKey;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.ReadResult.TableResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;
import com.cdcexport.export.model.TableShape;

/**
 * Reads one export, of one or several tables, inside one REPEATABLE READ, READ ONLY transaction: every table's
 * rows, counts and the snapshot stored as the next watermark describe exactly the same state of the database, so
 * a transaction that changed two tables is in one export entirely or not at all.
 */
@Component
public class SnapshotReader {

    private static final Pattern PLAN_ROWS = Pattern.compile("\"Plan Rows\":\\s*(\\d+)");
    /** The text forms the files promise, whatever the database's or role's defaults are. */
    static final List<String> SESSION = List.of(
        "SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL IntervalStyle = 'postgres'",
        "SET LOCAL bytea_output = 'hex'", "SET LOCAL extra_float_digits = 1",
        "SET LOCAL standard_conforming_strings = on");

    /** Opens the file of one table; called in the order of the export's tables. */
    @FunctionalInterface
    public interface Outputs {
        OutputStream open(TableName table) throws IOException;
    }

    private final DataSource dataSource;
    private final String schema;
    private final ParallelCopy parallel;
    private final CapturedTables captured;
    private final Duration catchUpTimeout;

    public SnapshotReader(DataSource dataSource, CapturedTables tables, ParallelCopy parallel) {
        this(dataSource, tables, parallel, Duration.ofSeconds(60));
    }

    @Autowired
    public SnapshotReader(DataSource dataSource, CapturedTables tables, ParallelCopy parallel, CdcProperties properties) {
        this(dataSource, tables, parallel, properties.logical().catchUpTimeout());
    }

    /** @param catchUpTimeout LOGICAL_CATCH_UP_TIMEOUT: how long an export waits for the decoder */
    public SnapshotReader(DataSource dataSource, CapturedTables tables, ParallelCopy parallel, Duration catchUpTimeout) {
        this.dataSource = dataSource;
        this.schema = tables.schema();
        this.parallel = parallel;
        this.captured = tables;
        this.catchUpTimeout = catchUpTimeout;
    }

    /** Streams each table's file, in {@code format}, into the output {@code outputs} opens for it. */
    public ReadResult export(ExportType type, ExportFormat format, List<TableExport> tables, HeldRowsScope held,
                                Outputs outputs, ExportProgress progress) throws SQLException, IOException {
        try (ParallelCopy.Reader reader = parallel.awaitReader(progress);
             Connection connection = dataSource.getConnection()) {
            List<TableExport> staged = type == ExportType.FULL ? List.of() : tables.stream()
                    .filter(t -> t.since().isPresent() && captured.mode(t.table()) == CaptureMode.LOGICAL).toList();
            if (!staged.isEmpty()) {
                LogicalWindow.prepare(connection, schema);
            }
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            // A consumer that sees a table through a row filter has what it holds staged in S (see ExportQuery),
            // the one write of an export's transaction, into the service's own schema.
            connection.setReadOnly(tables.stream().noneMatch(t -> !t.access().filter().isEmpty()));
            PGConnection pg = connection.unwrap(PGConnection.class);
            progress.attach(pg);
            try (Statement statement = connection.createStatement()) {
                for (String setting : SESSION) {
                    statement.execute(setting);
                }
                Optional<MaskingKey> masking = tables.stream().flatMap(t -> t.access().maskingKey().stream()).findFirst();
                if (masking.isPresent()) {
                    masking.get().apply(connection);
                }
                // The first query fixes the transaction's snapshot; pg_current_snapshot() reports that very one.
                ResultSet taken = single(statement, "SELECT pg_current_snapshot()::text, now()");
                progress.snapshotTaken();
                Snapshot snapshot = new Snapshot(taken.getString(1));
                Instant at = taken.getTimestamp(2).toInstant();
                Map<TableExport, TableShape> shapes = new LinkedHashMap<>();
                for (TableExport table : tables) {
                    shapes.put(table, TableShape.read(connection, schema, table.table()).orElseThrow(
                            () -> new IllegalStateException("Table " + table.table() + " no longer exists")));
                }
                if (!staged.isEmpty()) {
                    List<LogicalWindow.Window> windows = staged.stream().map(table -> new LogicalWindow.Window(
                            shapes.get(table).relid(), table.since().orElseThrow())).toList();
                    LogicalWindow.stage(connection, dataSource, schema, captured.slot().name(), snapshot, windows,
                            catchUpTimeout, progress::stopping);
                }
                List<Planned> plans = new ArrayList<>();
                long total = 0;
                for (TableExport table : tables) {
                    Planned plan = plan(statement, type, format, table, shapes.get(table), held,
                            staged.contains(table));
                    plans.add(plan);
                    total = plan.expected < 0 || total < 0 ? -1 : total + plan.expected;
                }
                progress.total(total);
                List<TableResult> results = new ArrayList<>();
                ParallelCopy.SharedSnapshot shared = null;
                for (Planned plan : plans) {
                    List<FileColumn> columns = plan.query.fileColumns();
                    long rows;
                    try (EncodedOutput out = format.open(outputs.open(plan.table), columns)) {
                        if (parallel.worthIt(plan.query, plan.expected)) {
                            shared = shared != null ? shared : ParallelCopy.share(statement, snapshot, masking);
                            rows = parallel.copy(connection, shared, plan.query, plan.expected, out, progress);
                        } else {
                            rows = CopyStream.copy(pg, plan.query.copySql(), true, out, progress);
                        }
                        out.finish();
                    }
                    if (plan.query.tracksHeldRows()) {
                        statement.execute(plan.query.stageHeldRowsSql());
                    }
                    results.add(new TableResult(plan.table, rows, plan.maxUpdatedAt, plan.query.hasSeedSemantics(),
                            columns, plan.operations));
                }
                connection.commit();
                return new ReadResult(snapshot, at, results);
            } catch (SQLException | IOException | RuntimeException e) {
                try {
                    discard(dataSource, connection);
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            } finally {
                progress.detach(pg);
                progress.snapshotReleased();
            }
        }
    }

    private record Planned(TableName table, ExportQuery query, Optional<Instant> maxUpdatedAt, long expected,
                           Map<String, Long> operations) {
    }

    private Planned plan(Statement statement, ExportType type, ExportFormat format, TableExport table,
                         TableShape shape, HeldRowsScope held, boolean staged) throws SQLException {
        if (shape.key().isEmpty()) {
            throw new IllegalStateException(table.table() + " has no primary key any more; capture needs one to name "
                    + "rows: add it back and restart the service");
        }
        boolean window = type != ExportType.FULL && table.since().isPresent();
        if (window && shape.keyChanged()) {
            throw new ResyncRequiredException(table.table(), "was re-created or its primary key changed");
        }
        ExportQuery query = new ExportQuery(type, format, shape, table.since(), table.access(), schema, held, staged);
        if (window && single(statement, query.truncatedSql()).getBoolean(1)) {
            throw new ResyncRequiredException(table.table(), "was truncated");
        }
        ResultSet summary = single(statement, query.summarySql());
        Timestamp max = summary.getTimestamp(1);
        Map<String, Long> operations = new LinkedHashMap<>();
        if (type == ExportType.DELTA) {
            operations.put("INSERT", summary.getLong(3));
            operations.put("UPDATE", summary.getLong(4));
            operations.put("DELETE", summary.getLong(5));
        }
        long expected = query.readsAllLiveRows() ? estimate(statement, query) : summary.getLong(2);
        return new Planned(table.table(), query, Optional.ofNullable(max).map(Timestamp::toInstant), expected,
                operations);
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
