package com.cdcexport.console;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.stereotype.Component;

/**
 * Reads the service's own metrics (ExportMetrics) rather than computing them again: the jobs per state, straight
 * from the job table, and per consumer and table the changes not yet exported and the age of the oldest, as last
 * refreshed (every EXPORT_HEARTBEAT_INTERVAL).
 */
@Component
class Gauges {

    private final MeterRegistry registry;

    Gauges(MeterRegistry registry) {
        this.registry = registry;
    }

    /** @param oldestSeconds age of the oldest change the consumer has not been sent; 0 when none waits */
    record Pending(long changes, double oldestSeconds) {
    }

    Optional<Pending> pending(String consumer, String table) {
        Gauge count = registry.find("cdc.changes.pending").tag("consumer", consumer).tag("table", table).gauge();
        Gauge age = registry.find("cdc.changes.pending.age").tag("consumer", consumer).tag("table", table).gauge();
        if (count == null || age == null || Double.isNaN(count.value()) || Double.isNaN(age.value())) {
            return Optional.empty();
        }
        return Optional.of(new Pending((long) count.value(), age.value()));
    }

    /**
     * A database exports read: its name (primary, standby-N), how far a standby's replay is behind the primary
     * (NaN for the primary, or when it cannot be asked), and how many exports this instance read there.
     */
    record ReadDatabase(String name, double replayLagBytes, long exports) {
    }

    /** The primary, then DATABASE_READ_URL's standbys in order, as the read metrics know them. */
    List<ReadDatabase> readDatabases() {
        List<ReadDatabase> databases = new ArrayList<>();
        databases.add(new ReadDatabase("primary", Double.NaN, reads("primary")));
        registry.find("cdc.standby.replay.lag").gauges().stream()
                .sorted(Comparator.comparing(g -> g.getId().getTag("database")))
                .forEach(g -> databases.add(new ReadDatabase(g.getId().getTag("database"), g.value(),
                        reads(g.getId().getTag("database")))));
        return databases;
    }

    private long reads(String database) {
        Counter counter = registry.find("cdc.export.reads").tag("database", database).counter();
        return counter == null ? 0 : (long) counter.count();
    }

    /** Jobs in this state across all instances, or -1 when the metric is not registered. */
    long jobs(String status) {
        Gauge gauge = registry.find("cdc.jobs").tag("status", status).gauge();
        return gauge == null ? -1 : (long) gauge.value();
    }
}
