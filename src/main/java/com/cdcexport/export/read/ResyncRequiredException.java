package com.cdcexport.export.read;

import com.cdcexport.export.model.TableName;

/**
 * A change window that cannot be told row by row: the table was truncated (or re-created, or its primary key
 * changed) after the consumer's last export. The consumer re-syncs with a full export; nothing is lost silently.
 */
public class ResyncRequiredException extends IllegalStateException {

    ResyncRequiredException(TableName table, String what) {
        super(table + " " + what + " after this consumer's last export, so the rows it removed cannot be listed; "
                + "run a full export of " + table + " to re-sync (POST /exports/full?table=" + table + ")");
    }
}
