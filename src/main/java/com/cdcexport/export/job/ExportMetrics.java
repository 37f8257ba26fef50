package com.cdcexport.export.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import com.cdcexport.export.model.ExportType;

/**
 * What operators graph and alert on, at /actuator/prometheus: exports by type and outcome, rows, durations, the
 * queue (across all instances: it is the job table), and per consumer and table the changes not yet exported.
 */
@Component
public class ExportMetrics {

    private static final Logger log = LoggerFactory.getLogger(ExportMetrics.class);

    private final MeterRegistry registry;
    private final JdbcClient jdbc;
    /** Counting beyond this is work without information: the consumer is far behind either way. */
    static final int PENDING_CAP = 1_000_000;

    private final MultiGauge pendingChanges;
    private final MultiGauge pendingAge;

    ExportMetrics(MeterRegistry registry, JobTable jobs, JdbcClient jdbc, RunningJobs running) {
        this.registry = registry;
        this.jdbc = jdbc;
        // A snapshot held open keeps vacuum from removing any row version that died after it was taken.
        Gauge.builder("cdc.export.snapshot.age", running, ExportMetrics::oldestSnapshotSeconds)
                .description("Age of the oldest snapshot a running export of this instance holds (0 when none): "
                        + "row versions that died since then cannot be vacuumed")
                .baseUnit("seconds")
                .register(registry);
        for (JobStatus status : JobStatus.ACTIVE) {
            Gauge.builder("cdc.jobs", jobs, t -> t.count(status))
                    .description("Export jobs in this state, across all instances")
                    .tag("status", status.slug())
                    .register(registry);
        }
        this.pendingChanges = MultiGauge.builder("cdc.changes.pending")
                .description("Changes committed to a table that a consumer has not been sent yet (capped at "
                        + PENDING_CAP + ")")
                .register(registry);
        this.pendingAge = MultiGauge.builder("cdc.changes.pending.age")
                .description("Age of the oldest change a consumer has not been sent yet; 0 when none is pending")
                .baseUnit("seconds")
                .register(registry);
    }

    private static double oldestSnapshotSeconds(RunningJobs running) {
        return running.all().stream().mapToLong(r -> r.progress().snapshotAgeNanos()).max().orElse(0) / 1e9;
    }

    /** @param readFrom the database the export read: primary, or standby-N */
    public void completed(ExportType type, long rows, double seconds, String readFrom) {
        record(type, "completed", seconds);
        Counter.builder("cdc.export.rows").description("Rows written to export files")
                .tag("type", type.slug()).register(registry).increment(rows);
        Counter.builder("cdc.export.reads").description("Completed exports by the database they read")
                .tag("database", readFrom).register(registry).increment();
    }

    /** An export's read was lost on a standby (a recovery conflict, the standby gone) and starts again. */
    public void readRestarted(String standby) {
        Counter.builder("cdc.export.read.restarts")
                .description("Export reads started again after a standby cancelled them or went away")
                .tag("database", standby).register(registry).increment();
    }

    public void failed(ExportType type, String outcome, double seconds) {
        record(type, outcome, seconds);
    }

    private void record(ExportType type, String outcome, double seconds) {
        Tags tags = Tags.of("type", type.slug(), "outcome", outcome);
        Counter.builder("cdc.exports").description("Finished exports").tags(tags).register(registry).increment();
        Timer.builder("cdc.export.duration").description("Export duration, from start to commit")
                .tags(tags).publishPercentileHistogram().register(registry)
                .record(Duration.ofNanos((long) (seconds * 1e9)));
    }

    /**
     * Per consumer and table: how many changes wait for its next export, and how old the oldest is. Unlike "now
     * minus the newest updated_at sent", both stay at 0 on a quiet table, so they are safe to alert on. Both read
     * the change log's window index: the age from its first entry, the count capped.
     */
    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    void refreshPendingChanges() {
        try {
            List<MultiGauge.Row<?>> counts = new ArrayList<>();
            List<MultiGauge.Row<?>> ages = new ArrayList<>();
            jdbc.sql("""
                    SELECT w.consumer_id, w.table_name, pending.n,
                           coalesce(extract(epoch FROM clock_timestamp() - oldest.changed_at), 0)
                      FROM watermarks w
                      JOIN captured_tables c ON c.schema_name || '.' || c.table_name = w.table_name
                     CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM change_log e
                                          WHERE e.table_oid = c.relid
                                            AND e.change_xid >= pg_snapshot_xmin(w.snapshot)
                                            AND NOT pg_visible_in_snapshot(e.change_xid, w.snapshot)
                                          LIMIT :cap) AS capped) AS pending
                      LEFT JOIN LATERAL (SELECT e.changed_at FROM change_log e
                                          WHERE e.table_oid = c.relid
                                            AND e.change_xid >= pg_snapshot_xmin(w.snapshot)
                                            AND NOT pg_visible_in_snapshot(e.change_xid, w.snapshot)
                                          ORDER BY e.change_xid LIMIT 1) AS oldest ON TRUE""")
                    .param("cap", PENDING_CAP)
                    .query(rs -> {
                        Tags tags = Tags.of("consumer", rs.getString(1), "table", rs.getString(2));
                        counts.add(MultiGauge.Row.of(tags, rs.getLong(3)));
                        ages.add(MultiGauge.Row.of(tags, rs.getDouble(4)));
                    });
            pendingChanges.register(counts, true);
            pendingAge.register(ages, true);
        } catch (RuntimeException e) {
            log.warn("Cannot refresh pending-change metrics: {}", e.toString());
        }
    }
}
