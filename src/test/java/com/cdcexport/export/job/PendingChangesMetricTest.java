package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.support.IntegrationTest;

/** The lag operators alert on counts changes waiting for a consumer: zero on a quiet table, however long quiet. */
class PendingChangesMetricTest extends IntegrationTest {

    @Autowired
    ExportMetrics metrics;

    @Autowired
    MeterRegistry registry;

    private double gauge(String name, String consumer) {
        metrics.refreshPendingChanges();
        var gauge = registry.find(name).tags("consumer", consumer, "table", "public.users").gauge();
        return gauge == null ? Double.NaN : gauge.value();
    }

    @Test
    void pendingChangesCountWhatTheNextExportWillCarryAndFallToZeroAfterIt() {
        insertUsers(3);
        export("full", "warehouse");
        assertThat(gauge("cdc.changes.pending", "warehouse")).isZero();
        assertThat(gauge("cdc.changes.pending.age", "warehouse")).as("a quiet table has no lag").isZero();

        jdbc.update("UPDATE users SET name = name || '!' WHERE id <= 2");
        sleep(50);
        assertThat(gauge("cdc.changes.pending", "warehouse")).isEqualTo(2);
        assertThat(gauge("cdc.changes.pending.age", "warehouse")).isGreaterThan(0.04);

        export("incremental", "warehouse");
        assertThat(gauge("cdc.changes.pending", "warehouse")).isZero();
    }
}
