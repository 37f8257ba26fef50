package com.cdcexport.export.capture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Drops change-log entries no consumer can need any more: an entry visible in the snapshot of every watermark
 * of its table has been carried by each consumer's exports (or superseded by a full export). Visibility, not xmin,
 * decides, so one long transaction elsewhere does not hold pruning back.
 *
 * <p>A consumer exporting a table for the first time has no watermark yet, but its export's snapshot becomes one;
 * while such a job is queued or running, entries of that table stay. A job this pruner cannot see yet takes its
 * snapshot after the pruner's, and so sees every entry the pruner removes as already visible.
 */
@Component
class ChangePruner {

    private static final Logger log = LoggerFactory.getLogger(ChangePruner.class);

    private final JdbcClient jdbc;

    ChangePruner(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    @Scheduled(initialDelayString = "${cdc.tombstone-prune-interval}", fixedDelayString = "${cdc.tombstone-prune-interval}")
    void pruneOnSchedule() {
        try {
            prune();
        } catch (RuntimeException e) {
            log.warn("Pruning the change log failed: {}", e.toString());
        }
    }

    int prune() {
        int pruned = jdbc.sql("""
                WITH captured AS (SELECT relid, schema_name || '.' || table_name AS name FROM captured_tables)
                DELETE FROM change_log e
                 WHERE NOT EXISTS (SELECT 1 FROM watermarks w JOIN captured c ON c.name = w.table_name
                                    WHERE c.relid = e.table_oid AND NOT pg_visible_in_snapshot(e.change_xid, w.snapshot))
                   AND NOT EXISTS (SELECT 1 FROM export_jobs j JOIN captured c ON c.name = ANY (j.tables)
                                    WHERE c.relid = e.table_oid AND j.status IN ('queued', 'running')
                                      AND NOT EXISTS (SELECT 1 FROM watermarks w
                                                       WHERE w.consumer_id = j.consumer_id AND w.table_name = c.name))""")
                .update();
        if (pruned > 0) {
            log.info("Pruned {} change-log entries no consumer needs any more", pruned);
        }
        return pruned;
    }
}
