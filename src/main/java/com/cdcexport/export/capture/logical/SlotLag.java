package com.cdcexport.export.capture.logical;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.capture.LogicalSlot;

/**
 * How far log-based capture is behind, the known failure of log-based tools: a slot keeps the server's WAL until
 * it is confirmed, so a decoder that stops makes the disk fill. Measured every heartbeat as WAL bytes the slot
 * retains and as seconds: the age of the newest WAL position the slot had already confirmed when it was sampled.
 * Shown as metrics, as the {@code logicalCapture} health check (readiness and the console) and, past
 * LOGICAL_LAG_WARNING, as a warning in the log. An invalidated slot is DOWN until the decoder has replaced it.
 */
@Component("logicalCapture")
public class SlotLag extends AbstractHealthIndicator {

    private static final Logger log = LoggerFactory.getLogger(SlotLag.class);
    /** Samples kept to turn a confirmed position into a time: one per heartbeat, about ten minutes of them. */
    private static final int SAMPLES = 128;

    private final CapturedTables tables;
    private final JdbcClient jdbc;
    private final long warnBytes;
    private final Clock clock;
    private final LogicalDecoder decoder;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private volatile long retainedBytes;
    private volatile double lagSeconds;
    private volatile String walStatus = "none";
    private volatile boolean warned;

    public SlotLag(CapturedTables tables, JdbcClient jdbc, CdcProperties properties, Clock clock,
                   LogicalDecoder decoder, MeterRegistry registry) {
        super("Log-based capture check failed");
        this.tables = tables;
        this.jdbc = jdbc;
        this.warnBytes = properties.logical().lagWarning().toBytes();
        this.clock = clock;
        this.decoder = decoder;
        if (tables.anyLogical()) {
            Gauge.builder("cdc.capture.logical.lag.bytes", () -> retainedBytes).baseUnit("bytes")
                    .description("WAL the replication slot of log-based capture keeps the server from removing")
                    .register(registry);
            Gauge.builder("cdc.capture.logical.lag.seconds", () -> lagSeconds).baseUnit("seconds")
                    .description("Age of the newest WAL position the slot had confirmed (0: caught up)")
                    .register(registry);
        }
    }

    private record Sample(Instant at, long lsn) {
    }

    @Scheduled(fixedDelayString = "${cdc.jobs.heartbeat-interval}")
    public void sample() {
        if (!tables.anyLogical()) {
            return;
        }
        try {
            Optional<Map<String, Object>> slot = jdbc.sql("""
                    SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS now_lsn, confirmed_flush_lsn - '0/0'::pg_lsn AS confirmed,
                           coalesce(wal_status, 'unknown') AS wal_status FROM pg_replication_slots WHERE slot_name = :name""")
                    .param("name", tables.slot().name()).query().listOfRows().stream().findFirst();
            Instant now = clock.instant();
            if (slot.isEmpty()) {
                walStatus = "missing";
                return;
            }
            long current = ((Number) slot.get().get("now_lsn")).longValue();
            Number confirmedValue = (Number) slot.get().get("confirmed");
            long confirmed = confirmedValue == null ? 0 : confirmedValue.longValue();
            walStatus = (String) slot.get().get("wal_status");
            record(now, current, confirmed);
        } catch (RuntimeException e) {
            log.debug("Sampling the slot's lag failed", e);
        }
    }

    /** Adds a sample and derives the lag: bytes behind now, and how old the confirmed position is. */
    synchronized void record(Instant now, long current, long confirmed) {
        samples.addLast(new Sample(now, current));
        while (samples.size() > SAMPLES) {
            samples.removeFirst();
        }
        retainedBytes = Math.max(0, current - confirmed);
        Instant caughtUpAt = null;
        for (Sample sample : samples) {
            if (sample.lsn() <= confirmed) {
                caughtUpAt = sample.at(); // the newest sample the slot had passed
            }
        }
        lagSeconds = confirmed >= current ? 0
                : caughtUpAt == null ? Duration.between(samples.getFirst().at(), now).toMillis() / 1000.0
                : Duration.between(caughtUpAt, now).toMillis() / 1000.0;
        if (retainedBytes > warnBytes && !warned) {
            warned = true;
            log.warn("Log-based capture is behind: the slot {} retains {} MB of WAL ({} s); is an instance with the "
                    + "logically captured tables running? (LOGICAL_LAG_WARNING)", tables.slot().name(),
                    retainedBytes / (1024 * 1024), Math.round(lagSeconds));
        } else if (retainedBytes <= warnBytes && warned) {
            warned = false;
            log.info("Log-based capture caught up: the slot {} retains {} MB of WAL", tables.slot().name(),
                    retainedBytes / (1024 * 1024));
        }
    }

    public long retainedBytes() {
        return retainedBytes;
    }

    public double lagSeconds() {
        return lagSeconds;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        if (!tables.anyLogical()) {
            builder.up().withDetail("mode", "trigger");
            return;
        }
        LogicalSlot slot = tables.slot();
        builder.withDetail("slot", slot.name()).withDetail("walStatus", walStatus)
                .withDetail("retainedBytes", retainedBytes).withDetail("lagSeconds", lagSeconds)
                .withDetail("decodingHere", decoder.leading());
        if (walStatus.equals("lost") || walStatus.equals("missing")) {
            builder.down().withDetail("problem", "the replication slot was invalidated or dropped; the decoder "
                    + "replaces it and consumers of the logical tables must run a full export");
        } else if (retainedBytes > warnBytes) {
            builder.up().withDetail("warning", "the slot retains more WAL than LOGICAL_LAG_WARNING");
        } else {
            builder.up();
        }
    }
}
