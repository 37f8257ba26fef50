package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

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

    /** An export holds its snapshot from its first query; the lock keeps it there, blocked on reading users. */
    @Test
    void theAgeOfTheSnapshotARunningExportHoldsIsAGaugeAndFallsToZeroWhenItEnds() throws Exception {
        insertUsers(3);
        assertThat(snapshotAge()).isZero();
        String jobId;
        try (UsersTableLock lock = UsersTableLock.acquire()) {
            jobId = startExport("full", "holder").field("jobId");
            for (int i = 0; i < 1_000 && snapshotAge() < 0.2; i++) {
                sleep(10);
            }
            assertThat(snapshotAge()).isGreaterThanOrEqualTo(0.2);
        }
        assertThat(awaitJob(jobId)).isEqualTo("completed");
        assertThat(snapshotAge()).isZero();
    }

    private double snapshotAge() {
        return registry.get("cdc.export.snapshot.age").gauge().value();
    }
}
