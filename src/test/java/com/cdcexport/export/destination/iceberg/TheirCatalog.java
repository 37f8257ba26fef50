package com.cdcexport.export.destination.iceberg;

import java.util.Map;

import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.jdbc.JdbcCatalog;

import com.cdcexport.support.IcebergTables;

/**
 * Iceberg's own JDBC catalog over the service's catalog rows, as an engine would open it: a reader of the tables'
 * pointers that shares no code with the service.
 */
final class TheirCatalog {

    private TheirCatalog() {
    }

    /** @param fileIo the catalog's warehouse and FileIO properties ({@code warehouse}, {@code io-impl}, ...) */
    static Table load(String name, Map<String, String> fileIo) {
        Map<String, String> properties = IcebergTables.jdbcCatalog("cdc");
        properties.putAll(fileIo);
        JdbcCatalog catalog = new JdbcCatalog();
        catalog.initialize(IcebergCatalog.NAME, properties);
        try {
            return catalog.loadTable(TableIdentifier.parse(name));
        } finally {
            catalog.close();
        }
    }
}
