package com.cdcexport.export.watermark;

import java.time.Instant;

import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;

/**
 * A consumer's progress on one table.
 *
 * @param lastExportedAt the greatest updated_at this consumer has been sent (for tables without the seed's
 *                       updated_at: the time of its last export); informational, never decreases
 * @param snapshot       the snapshot of its last successful export of the table: what decides the next window
 */
public record Watermark(String consumerId, TableName table, Instant lastExportedAt, Snapshot snapshot) {
}
