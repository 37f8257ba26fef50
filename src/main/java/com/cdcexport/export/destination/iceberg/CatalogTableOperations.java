package com.cdcexport.export.destination.iceberg;

import org.apache.iceberg.BaseMetastoreTableOperations;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.io.FileIO;

import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * One Iceberg table's pointer in the embedded catalog (the service's {@code iceberg_tables}). Its statements go
 * through the service's transaction-aware {@link JdbcClient}: a commit made while the export's commit transaction
 * is open swaps the pointer inside that transaction, so it becomes visible exactly when the job and watermark do,
 * and vanishes with them on a rollback. A swap is conditional on the pointer the commit started from; another
 * writer's swap makes it fail with {@link CommitFailedException}, which Iceberg answers by refreshing and retrying.
 */
final class CatalogTableOperations extends BaseMetastoreTableOperations {

    private final JdbcClient jdbc;
    private final FileIO io;
    private final String catalog;
    private final TableIdentifier identifier;

    CatalogTableOperations(JdbcClient jdbc, FileIO io, String catalog, TableIdentifier identifier) {
        this.jdbc = jdbc;
        this.io = io;
        this.catalog = catalog;
        this.identifier = identifier;
    }

    @Override
    protected String tableName() {
        return catalog + "." + identifier;
    }

    @Override
    public FileIO io() {
        return io;
    }

    @Override
    protected void doRefresh() {
        String location = jdbc.sql("SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? "
                        + "AND table_namespace = ? AND table_name = ? AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)")
                .params(catalog, IcebergCatalog.namespaceText(identifier.namespace()), identifier.name())
                .query(String.class).optional().orElse(null);
        if (location == null && currentMetadataLocation() != null) {
            throw new NoSuchTableException("Table %s was dropped", tableName());
        }
        refreshFromMetadataLocation(location);
    }

    @Override
    protected void doCommit(TableMetadata base, TableMetadata metadata) {
        String location = writeNewMetadataIfRequired(base == null, metadata);
        String namespace = IcebergCatalog.namespaceText(identifier.namespace());
        if (base == null) {
            try {
                jdbc.sql("INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, "
                                + "previous_metadata_location, iceberg_type) VALUES (?, ?, ?, ?, NULL, 'TABLE')")
                        .params(catalog, namespace, identifier.name(), location).update();
            } catch (DuplicateKeyException e) {
                throw new AlreadyExistsException(e, "Table already exists: %s", tableName());
            }
            return;
        }
        int swapped = jdbc.sql("UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? "
                        + "WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?")
                .params(location, base.metadataFileLocation(), catalog, namespace, identifier.name(),
                        base.metadataFileLocation())
                .update();
        if (swapped != 1) {
            throw new CommitFailedException("Table %s was changed by another writer since %s", tableName(),
                    base.metadataFileLocation());
        }
    }
}
