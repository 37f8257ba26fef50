package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.FailoverPair;
import com.cdcexport.support.LogicalDatabase;
import com.cdcexport.support.ServiceProcess;

/**
 * Issue 23, "Slot safety": on PostgreSQL 17 the service creates its slot with {@code failover}, a standby that
 * synchronises slots holds a copy of it, and after that standby's promotion the service, pointed at it, decodes on
 * from the copy: every change of the old primary and the new one is logged once. The old primary crashes (stopped
 * immediately) with changes the service never decoded; the synchronised slot's position at the promotion may be
 * behind the decoder's applied position (a synced slot lags its primary's by up to the sync worker's nap), and the
 * changes between the two come again and are skipped on their source LSN.
 */
class LogicalSlotFailoverIT {

    private static final String SLOT = "cdc_export";

    @Test
    void aSlotCreatedOnPostgres17SurvivesPromotionAndDecodingGoesOnWithoutLossOrRepeat() {
        try (FailoverPair pair = FailoverPair.start()) {
            JdbcTemplate primary = pair.primaryJdbc();
            Map<String, String> environment = new HashMap<>(Map.of("DATABASE_URL", pair.primaryUrl(),
                    "EXPORT_TABLES", "users,app.order_lines", "CAPTURE_MODE", "logical"));
            try (ServiceProcess service = ServiceProcess.start(environment)) {
                insertOrderLines(primary, 1, 100);
                assertDecodedAndSynchronised(pair, service);

                insertOrderLines(primary, 101, 200);
                LogicalDatabase.awaitDecoded(primary);
                assertThat(service.terminate(Duration.ofSeconds(30))).as(service.log()).isIn(0, 143);
            }
            // Committed, streamed to the standby, never decoded: the promoted server's slot must still hold them.
            insertOrderLines(primary, 201, 300);
            pair.awaitReplayed();
            String appliedAtPromotion = primary.queryForObject("SELECT applied_lsn::text FROM logical_capture",
                    String.class);
            String syncedAtPromotion = pair.standbyJdbc().queryForObject("SELECT confirmed_flush_lsn::text FROM "
                    + "pg_replication_slots WHERE slot_name = ?", String.class, SLOT);
            // Which of the two is ahead varies with the sync worker's timing; both outcomes must log each change once.
            System.out.printf(java.util.Locale.ROOT, "at the promotion: the standby's synced slot confirmed %s, the "
                    + "decoder had applied %s%n", syncedAtPromotion, appliedAtPromotion);
            pair.crashPrimary();
            pair.promote();

            JdbcTemplate promoted = pair.standbyJdbc();
            assertThat(promoted.queryForObject("SELECT count(*) FROM pg_replication_slots WHERE slot_name = ? AND "
                    + "failover AND NOT temporary AND wal_status <> 'lost'", Integer.class, SLOT))
                    .as("the slot on the promoted server (synced at %s, applied %s)", syncedAtPromotion,
                            appliedAtPromotion).isOne();
            environment.put("DATABASE_URL", pair.standbyUrl());
            try (ServiceProcess service = ServiceProcess.start(environment)) {
                insertOrderLines(promoted, 301, 400);
                LogicalDatabase.awaitDecoded(promoted);
                assertThat(service.log()).as("the slot was not lost: no recovery by a full export")
                        .doesNotContain("was invalidated or dropped");
            }
            List<Long> logged = promoted.queryForList("SELECT (key->>0)::bigint FROM change_log WHERE table_oid = "
                    + "'app.order_lines'::regclass AND op = 'I' ORDER BY 1", Long.class);
            assertThat(logged).as("one entry per insert, none lost, none twice (synced at %s, applied %s)",
                    syncedAtPromotion, appliedAtPromotion)
                    .containsExactlyElementsOf(LongStream.rangeClosed(1, 400).boxed().toList());
            assertThat(promoted.queryForObject("SELECT count(*) FROM change_log WHERE op = 'T'", Integer.class))
                    .as("no truncate marker (the invalidated-slot path)").isZero();
        }
    }

    @Test
    void aSlotCreatedWithoutFailoverOnPostgres17IsGivenItAndSynchronisedToTheStandby() {
        try (FailoverPair pair = FailoverPair.start()) {
            JdbcTemplate primary = pair.primaryJdbc();
            // As an earlier version of the service left them: the publication, then a slot without failover (a
            // slot older than its publication fails on the first change it decodes: pgoutput looks the publication
            // up as of that change).
            primary.execute("CREATE PUBLICATION " + SLOT);
            primary.queryForObject("SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')",
                    String.class, SLOT);
            try (ServiceProcess service = ServiceProcess.start(Map.of("DATABASE_URL", pair.primaryUrl(),
                    "EXPORT_TABLES", "users,app.order_lines", "CAPTURE_MODE", "logical"))) {
                insertOrderLines(primary, 1, 10);
                assertDecodedAndSynchronised(pair, service);
                assertThat(service.log()).contains("Gave the replication slot cdc_export failover");
            }
        }
    }

    /**
     * Waits until the service on the primary has decoded what was committed, and the standby holds a copy of the
     * slot that a promotion keeps, confirmed as far.
     */
    private static void assertDecodedAndSynchronised(FailoverPair pair, ServiceProcess service) {
        JdbcTemplate primary = pair.primaryJdbc();
        LogicalDatabase.awaitDecoded(primary);
        assertThat(primary.queryForObject("SELECT failover FROM pg_replication_slots WHERE slot_name = ?",
                Boolean.class, SLOT)).as("the slot on the primary has failover; log: %s", service.log()).isTrue();
        String applied = primary.queryForObject("SELECT applied_lsn::text FROM logical_capture", String.class);
        assertThat(pair.awaitSyncedSlot(SLOT, applied)).as("the standby's copy of the slot")
                .containsEntry("synced", true).containsEntry("failover", true).containsEntry("temporary", false);
    }

    /** Order lines {@code from..to}, one transaction each, as an application commits them. */
    private static void insertOrderLines(JdbcTemplate server, long from, long to) {
        for (long id = from; id <= to; id++) {
            server.update("INSERT INTO app.order_lines VALUES (?, 1, 's', 1)", id);
        }
    }
}
