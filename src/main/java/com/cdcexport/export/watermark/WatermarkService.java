package com.cdcexport.export.watermark;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.ReadResult.TableResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;

/** The one place that reads and moves watermarks: one per consumer and table. */
@Service
public class WatermarkService {

    /** last_exported_at of a consumer whose exports of a table with soft-delete columns so far contained no rows at all. */
    static final Instant NOTHING_EXPORTED = Instant.EPOCH;

    private final JdbcClient jdbc;

    public WatermarkService(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    public Optional<Watermark> find(ConsumerId consumer, TableName table) {
        return jdbc.sql("SELECT consumer_id, table_name, last_exported_at, snapshot::text FROM watermarks"
                        + " WHERE consumer_id = :consumer AND table_name = :table")
                .param("consumer", consumer.value()).param("table", table.qualified())
                .query(WatermarkService::watermark).optional();
    }

    public List<Watermark> findAll(ConsumerId consumer) {
        return jdbc.sql("SELECT consumer_id, table_name, last_exported_at, snapshot::text FROM watermarks"
                        + " WHERE consumer_id = :consumer ORDER BY table_name")
                .param("consumer", consumer.value()).query(WatermarkService::watermark).list();
    }

    /**
     * Compare-and-set P → S for every table of the export. Must run inside the transaction that also completes
     * the job, so the files' job and all its tables' watermarks commit together or not at all.
     *
     * Each table's watermark is expected where the plan found it when the export started (absent: none yet).
     *
     * @throws WatermarkConflictException when a watermark is no longer where the export started from
     */
    @Transactional(propagation = Propagation.MANDATORY)
    public void advance(ExportPlan plan, ReadResult result, Instant now) {
        ConsumerId consumer = plan.consumer();
        for (TableResult table : result.tables()) {
            // Tables with soft-delete columns report the greatest updated_at sent; others the snapshot's time.
            Instant exportedUpTo = table.softDeleteColumns() ? table.maxUpdatedAt().orElse(NOTHING_EXPORTED)
                    : result.snapshotTime();
            Optional<Snapshot> from = table.plan().watermark();
            JdbcClient.StatementSpec statement = jdbc.sql(from.isPresent() ? """
                            UPDATE watermarks
                               SET snapshot = CAST(:snapshot AS pg_snapshot),
                                   last_exported_at = GREATEST(last_exported_at, :lastExportedAt),
                                   updated_at = :now
                             WHERE consumer_id = :consumer AND table_name = :table AND snapshot::text = :expected"""
                            : """
                            INSERT INTO watermarks (consumer_id, table_name, last_exported_at, updated_at, snapshot)
                            VALUES (:consumer, :table, :lastExportedAt, :now, CAST(:snapshot AS pg_snapshot))
                            ON CONFLICT (consumer_id, table_name) DO NOTHING""")
                    .param("snapshot", result.snapshot().text()).param("lastExportedAt", Timestamp.from(exportedUpTo))
                    .param("now", Timestamp.from(now)).param("consumer", consumer.value()).param("table", table.table().qualified());
            if (from.isPresent()) {
                statement = statement.param("expected", from.get().text());
            }
            if (statement.update() != 1) {
                throw new WatermarkConflictException(consumer, table.table());
            }
        }
    }

    /** The consumer's next export of {@code table} reads it whole, as its first did. */
    public void forget(ConsumerId consumer, TableName table) {
        jdbc.sql("DELETE FROM watermarks WHERE consumer_id = :consumer AND table_name = :table")
                .param("consumer", consumer.value()).param("table", table.qualified()).update();
    }

    private static Watermark watermark(ResultSet rs, int row) throws SQLException {
        return new Watermark(rs.getString(1), TableName.parse(rs.getString(2)).orElseThrow(),
                rs.getTimestamp(3).toInstant(), new Snapshot(rs.getString(4)));
    }

    public static final class WatermarkConflictException extends IllegalStateException {
        WatermarkConflictException(ConsumerId consumer, TableName table) {
            super("The watermark of consumer " + consumer + " on " + table
                    + " moved during this export; not advancing it");
        }
    }
}
