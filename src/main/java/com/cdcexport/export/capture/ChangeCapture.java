package com.cdcexport.export.capture;

import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;

import org.springframework.stereotype.Component;

import com.cdcexport.export.ExportType;

/**
 * Reads one export inside one REPEATABLE READ, READ ONLY transaction, so the rows, their count, the greatest
 * updated_at and the snapshot stored as the next watermark all describe exactly the same state of the table.
 */
@Component
public class ChangeCapture {

    private static final Pattern PLAN_ROWS = Pattern.compile("\"Plan Rows\":\\s*(\\d+)");

    private final DataSource dataSource;

    public ChangeCapture(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Streams the export's CSV (header included) into {@code out}.
     *
     * @param since the consumer's previous snapshot P; empty means "since the beginning"
     */
    public CaptureResult export(ExportType type, Optional<Snapshot> since, OutputStream out, CaptureProgress progress)
            throws SQLException, IOException {
        ExportQuery query = ExportQuery.of(type, since);
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            connection.setReadOnly(true);
            PGConnection pg = connection.unwrap(PGConnection.class);
            progress.attach(pg);
            try (Statement statement = connection.createStatement()) {
                // The first statement fixes the transaction's snapshot; pg_current_snapshot() reports that very one.
                Snapshot snapshot = new Snapshot(single(statement, "SELECT pg_current_snapshot()::text").getString(1));
                ResultSet summary = single(statement, query.summarySql());
                Timestamp max = summary.getTimestamp(1);
                progress.total(query.readsWholeTable() ? estimate(statement, query) : summary.getLong(2));
                long rows = copy(pg, query.copySql(), out, progress);
                connection.commit();
                return new CaptureResult(snapshot, rows, Optional.ofNullable(max).map(Timestamp::toInstant));
            } catch (SQLException | IOException | RuntimeException e) {
                discard(connection, e);
                throw e;
            } finally {
                progress.detach();
            }
        }
    }

    /** CopyManager.copyOut's loop, counting rows as they pass: COPY sends one message per row. */
    private static long copy(PGConnection pg, String sql, OutputStream out, CaptureProgress progress)
            throws SQLException, IOException {
        CopyOut copy = pg.getCopyAPI().copyOut(sql);
        try {
            byte[] header = copy.readFromCopy();
            if (header != null) {
                out.write(header);
            }
            byte[] row;
            while ((row = copy.readFromCopy()) != null) {
                out.write(row);
                progress.row();
            }
            return copy.getHandledRowCount();
        } finally {
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        }
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
    private void discard(Connection connection, Exception cause) {
        try {
            if (dataSource.isWrapperFor(HikariDataSource.class)) {
                dataSource.unwrap(HikariDataSource.class).evictConnection(connection);
            } else {
                connection.abort(Runnable::run);
            }
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }
}
