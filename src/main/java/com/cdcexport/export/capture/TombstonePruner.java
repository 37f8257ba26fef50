package com.cdcexport.export.capture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Drops tombstones every consumer has moved past. A tombstone whose transaction id is below the xmin of every
 * watermark snapshot is visible in all of them: each consumer's delta has carried it already (or the consumer
 * started after the delete and never had the row). With no watermark at all, nothing is pruned.
 */
@Component
class TombstonePruner {

    private static final Logger log = LoggerFactory.getLogger(TombstonePruner.class);

    private final JdbcClient jdbc;

    TombstonePruner(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    @Scheduled(initialDelayString = "${cdc.tombstone-prune-interval}", fixedDelayString = "${cdc.tombstone-prune-interval}")
    void pruneOnSchedule() {
        try {
            prune();
        } catch (RuntimeException e) {
            log.warn("Pruning tombstones failed: {}", e.toString());
        }
    }

    int prune() {
        int pruned = jdbc.sql("""
                DELETE FROM user_tombstones
                 WHERE change_xid < (SELECT min(pg_snapshot_xmin(snapshot)) FROM watermarks)""").update();
        if (pruned > 0) {
            log.info("Pruned {} tombstones no consumer needs any more", pruned);
        }
        return pruned;
    }
}
