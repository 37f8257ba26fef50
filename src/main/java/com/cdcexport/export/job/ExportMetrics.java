package com.cdcexport.export.job;

import java.time.Clock;
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

import com.cdcexport.export.ExportType;

/**
 * What operators graph and alert on, at /actuator/prometheus: exports by type and outcome, rows, durations, the
 * queue (across all instances: it is the job table), and per consumer how far its watermark lags behind now.
 */
@Component
class ExportMetrics {

    private static final Logger log = LoggerFactory.getLogger(ExportMetrics.class);

    private final MeterRegistry registry;
    private final JdbcClient jdbc;
    private final Clock clock;
    private final MultiGauge watermarkLag;

    ExportMetrics(MeterRegistry registry, JobTable jobs, JdbcClient jdbc, Clock clock) {
        this.registry = registry;
        this.jdbc = jdbc;
        this.clock = clock;
        for (JobStatus status : JobStatus.ACTIVE) {
            Gauge.builder("cdc.jobs", jobs, t -> t.count(status))
                    .description("Export jobs in this state, across all instances")
                    .tag("status", status.slug())
                    .register(registry);
        }
        this.watermarkLag = MultiGauge.builder("cdc.watermark.lag")
                .description("Seconds between now and the newest updated_at a consumer has been sent")
                .baseUnit("seconds")
                .register(registry);
    }

    void completed(ExportType type, long rows, double seconds) {
        record(type, "completed", seconds);
        Counter.builder("cdc.export.rows").description("Rows written to export files")
                .tag("type", type.slug()).register(registry).increment(rows);
    }

    void failed(ExportType type, String outcome, double seconds) {
        record(type, outcome, seconds);
    }

    private void record(ExportType type, String outcome, double seconds) {
        Tags tags = Tags.of("type", type.slug(), "outcome", outcome);
        Counter.builder("cdc.exports").description("Finished exports").tags(tags).register(registry).increment();
        Timer.builder("cdc.export.duration").description("Export duration, from start to commit")
                .tags(tags).publishPercentileHistogram().register(registry)
                .record(Duration.ofNanos((long) (seconds * 1e9)));
    }

    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    void refreshWatermarkLag() {
        try {
            long now = clock.millis();
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            jdbc.sql("SELECT consumer_id, last_exported_at FROM watermarks")
                    .query(rs -> {
                        rows.add(MultiGauge.Row.of(Tags.of("consumer", rs.getString(1)),
                                (now - rs.getTimestamp(2).getTime()) / 1000.0));
                    });
            watermarkLag.register(rows, true);
        } catch (RuntimeException e) {
            log.warn("Cannot refresh watermark lag: {}", e.toString());
        }
    }
}
