package com.cdcexport.export.capture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Drops tombstones every consumer has moved past: a tombstone visible in every watermark's snapshot has been
 * carried by each consumer's delta already, or the consumer's last export was a full one that no longer had the
 * row. Visibility, not xmin, decides, so one long-running transaction elsewhere does not hold pruning back.
 * With no watermark at all, nothing is pruned.
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
                DELETE FROM user_tombstones t
                 WHERE t.change_xid < (SELECT max(pg_snapshot_xmax(snapshot)) FROM watermarks)
                   AND NOT EXISTS (SELECT 1 FROM watermarks w
                                    WHERE NOT pg_visible_in_snapshot(t.change_xid, w.snapshot))""").update();
        if (pruned > 0) {
            log.info("Pruned {} tombstones no consumer needs any more", pruned);
        }
        return pruned;
    }
}
