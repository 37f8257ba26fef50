package com.cdcexport.console;

import java.util.Optional;

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

    /** Jobs in this state across all instances, or -1 when the metric is not registered. */
    long jobs(String status) {
        Gauge gauge = registry.find("cdc.jobs").tag("status", status).gauge();
        return gauge == null ? -1 : (long) gauge.value();
    }
}
