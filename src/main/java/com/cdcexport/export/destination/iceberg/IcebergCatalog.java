package com.cdcexport.export.destination.iceberg;

import java.util.List;

import org.apache.iceberg.BaseMetastoreCatalog;
import org.apache.iceberg.TableOperations;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.io.FileIO;

import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The embedded Iceberg catalog: tables' pointers in the service's schema (in the layout of Iceberg's JDBC catalog,
 * so other engines read it with theirs), files under one warehouse location. See docs/iceberg.md.
 */
final class IcebergCatalog extends BaseMetastoreCatalog {

    /** The catalog_name of the service's rows: an engine reading the catalog names it so. */
    static final String NAME = "cdc";

    private final JdbcClient jdbc;
    private final FileIO io;
    private final String warehouse;

    /** @param warehouse the location tables go under, without a trailing slash */
    IcebergCatalog(JdbcClient jdbc, FileIO io, String warehouse) {
        this.jdbc = jdbc;
        this.io = io;
        this.warehouse = warehouse;
    }

    /** A namespace as Iceberg's JDBC catalog stores it: its levels joined by dots. */
    static String namespaceText(Namespace namespace) {
        return String.join(".", namespace.levels());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected TableOperations newTableOps(TableIdentifier identifier) {
        return new CatalogTableOperations(jdbc, io, NAME, identifier);
    }

    @Override
    protected String defaultWarehouseLocation(TableIdentifier identifier) {
        return warehouse + "/" + String.join("/", identifier.namespace().levels()) + "/" + identifier.name();
    }

    @Override
    public List<TableIdentifier> listTables(Namespace namespace) {
        return jdbc.sql("SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? "
                        + "AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL) ORDER BY table_name")
                .params(NAME, namespaceText(namespace)).query(String.class).list().stream()
                .map(name -> TableIdentifier.of(namespace, name)).toList();
    }

    /** Forgets the table (its files stay unless {@code purge}: upkeep removes them). */
    @Override
    public boolean dropTable(TableIdentifier identifier, boolean purge) {
        if (purge) {
            throw new UnsupportedOperationException("Purging an Iceberg table's files is not supported");
        }
        return jdbc.sql("DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?")
                .params(NAME, namespaceText(identifier.namespace()), identifier.name()).update() == 1;
    }

    @Override
    public void renameTable(TableIdentifier from, TableIdentifier to) {
        throw new UnsupportedOperationException("Iceberg tables are named after their source tables");
    }
}
