package com.cdcexport.export.read;

import java.util.Optional;

import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableAccess;
import com.cdcexport.export.model.TableName;

/**
 * One table of an export as the consumer asked for it.
 *
 * @param since  the consumer's previous snapshot P of this table; empty means "since the beginning"
 * @param access the columns and rows this consumer may see
 */
public record TableExport(TableName table, Optional<Snapshot> since, TableAccess access) {
}
