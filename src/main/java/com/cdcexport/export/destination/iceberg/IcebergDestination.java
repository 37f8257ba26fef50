package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.NoSuchTableException;

import io.swagger.v3.oas.annotations.media.Schema;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.destination.Destination;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;

/**
 * Exports applied to Apache Iceberg tables ({@code format=iceberg}), one per source table, in the embedded
 * catalog. An attempt writes each table's data and delete files while it reads, and commits them all inside the
 * export's commit transaction, so the tables change exactly when the watermark moves. See docs/capture.md,
 * "Delivering to an Iceberg table", and docs/iceberg.md.
 */
@Component
public class IcebergDestination implements Destination {

    private final JdbcClient jdbc;
    private final IcebergCatalog catalog;
    private final CdcProperties.Iceberg settings;
    private final String warehouse;

    /** @param files where the tables' files go (a directory, or S3), and the FileIO that writes them */
    public IcebergDestination(JdbcClient jdbc, CdcProperties properties, IcebergWarehouse files) {
        this.jdbc = jdbc;
        this.settings = properties.iceberg();
        this.warehouse = files.location();
        this.catalog = new IcebergCatalog(jdbc, files.io(), warehouse);
    }

    /** The Iceberg table a consumer's export of {@code table} goes to: {@code namespace.name}. */
    public String tableOf(ConsumerId consumer, TableName table) {
        return identifierOf(consumer, table).toString();
    }

    private TableIdentifier identifierOf(ConsumerId consumer, TableName table) {
        // public.users is users; app.orders is app_orders: one level of namespace, which every engine reads
        String name = table.schema().equals("public") ? table.table() : table.schema() + "_" + table.table();
        return TableIdentifier.of(Namespace.of(settings.namespaceOf(consumer.value())), name);
    }

    /**
     * One Iceberg table as its consumer sees it: where its current metadata is (what an engine opens), and what its
     * current snapshot holds, from the snapshot's summary.
     */
    public record TableState(String table, @Schema(nullable = true) String sourceTable, String metadataLocation,
                             @Schema(nullable = true) Long snapshotId, int snapshots,
                             @Schema(description = "Rows in the data files; rows removed by equality deletes since "
                                     + "the last full export are counted until then (see equalityDeletes)")
                             long records,
                             @Schema(description = "Keys deleted by equality since the last full export")
                             long equalityDeletes, long dataFiles, long deleteFiles,
                             @Schema(nullable = true) String lastJobId) {
    }

    /** The consumer's Iceberg tables, by name. */
    public List<TableState> tables(ConsumerId consumer) {
        Namespace namespace = Namespace.of(settings.namespaceOf(consumer.value()));
        return catalog.listTables(namespace).stream().map(id -> {
            Table table = catalog.loadTable(id);
            // Iceberg's snapshot, not the export's (model.Snapshot)
            org.apache.iceberg.Snapshot current = table.currentSnapshot();
            Map<String, String> summary = current == null ? Map.of() : current.summary();
            Map<String, String> export = lastExport(table, current);
            int snapshots = snapshotCount(table);
            return new TableState(id.toString(), export.get("cdc.source-table"),
                    ((HasTableOperations) table).operations().current().metadataFileLocation(),
                    current == null ? null : current.snapshotId(), snapshots, count(summary, "total-records"),
                    count(summary, "total-equality-deletes"), count(summary, "total-data-files"),
                    count(summary, "total-delete-files"),
                    export.get("cdc.job-id"));
        }).toList();
    }

    /**
     * The summary of the snapshot the last export made: the current one's, unless upkeep rewrote the table since
     * (a rewrite snapshot copies the summary of the one it read, which is the right one unless an export committed
     * while it ran: its parents say, as long as they have not expired).
     */
    static Map<String, String> lastExport(Table table, org.apache.iceberg.Snapshot current) {
        org.apache.iceberg.Snapshot snapshot = current;
        while (snapshot != null && snapshot.summary().containsKey(IcebergCompaction.UPKEEP)) {
            Long parent = snapshot.parentId();
            org.apache.iceberg.Snapshot older = parent == null ? null : table.snapshot(parent);
            if (older == null) {
                return snapshot.summary();
            }
            snapshot = older;
        }
        return snapshot == null ? Map.of() : snapshot.summary();
    }

    static int snapshotCount(Table table) {
        int n = 0;
        for (org.apache.iceberg.Snapshot ignored : table.snapshots()) {
            n++;
        }
        return n;
    }

    private static long count(Map<String, String> summary, String key) {
        String value = summary.get(key);
        return value == null ? 0 : Long.parseLong(value);
    }

    /** Every table of the catalog, every consumer's. */
    List<TableIdentifier> allTables() {
        return jdbc.sql("SELECT table_namespace, table_name FROM iceberg_tables WHERE catalog_name = ? "
                        + "ORDER BY 1, 2")
                .param(IcebergCatalog.NAME)
                .query((rs, row) -> TableIdentifier.of(Namespace.of(rs.getString(1).split("\\.")),
                        rs.getString(2)))
                .list();
    }

    /** The catalog, for upkeep and for tests reading the tables back. */
    public Catalog catalog() {
        return catalog;
    }

    @Override
    public boolean writes(ExportFormat format) {
        return format.isTable();
    }

    /** The table exists and the last export that moved the watermark to {@code watermark} was applied to it. */
    @Override
    public boolean continuesFrom(ConsumerId consumer, TableName table, Snapshot watermark) {
        boolean applied = jdbc.sql("SELECT snapshot::text = ? FROM iceberg_applied WHERE consumer_id = ? "
                        + "AND table_name = ?")
                .params(watermark.text(), consumer.value(), table.qualified())
                .query(Boolean.class).optional().orElse(false);
        return applied && catalog.tableExists(identifierOf(consumer, table));
    }

    @Override
    public String location() {
        return warehouse;
    }

    @Override
    public Attempt begin(ExportPlan plan, Fence fence) {
        return new IcebergAttempt(plan, fence);
    }

    private Table loadOrCreate(TableIdentifier identifier, List<FileColumn> columns, List<String> key) {
        try {
            return catalog.loadTable(identifier);
        } catch (NoSuchTableException absent) {
            try {
                return catalog.buildTable(identifier, IcebergSchemas.newSchema(columns, key))
                        .withProperty(TableProperties.FORMAT_VERSION, "2")
                        // every export is a metadata version: keep the last 100, not all of them
                        .withProperty(TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED, "true")
                        .withProperty(TableProperties.METADATA_PREVIOUS_VERSIONS_MAX, "100")
                        .create();
            } catch (AlreadyExistsException raced) {
                return catalog.loadTable(identifier);
            }
        }
    }

    private final class IcebergAttempt implements Attempt {

        private final ExportPlan plan;
        private final Fence fence;
        private final Map<TablePlan, TableChanges> tables = new LinkedHashMap<>();
        private boolean published;

        IcebergAttempt(ExportPlan plan, Fence fence) {
            this.plan = plan;
            this.fence = fence;
        }

        @Override
        public OutputStream open(TablePlan table, List<FileColumn> columns, List<String> key) {
            boolean operations = table.read().hasOperations();
            List<FileColumn> tableColumns = operations ? columns.subList(1, columns.size()) : columns;
            Table iceberg = loadOrCreate(identifierOf(plan.consumer(), table.table()), tableColumns, key);
            TableChanges changes = new TableChanges(iceberg, plan.jobId() + "-" + plan.attempt(), columns, key,
                    !table.read().hasWindow(), operations);
            tables.put(table, changes);
            return changes.stream();
        }

        @Override
        public void publish() throws IOException {
            for (TableChanges changes : tables.values()) {
                changes.finish();
            }
            published = true;
        }

        @Override
        public void publishManifest(byte[] manifest) {
            throw new UnsupportedOperationException("Exports to Iceberg have no manifest: each table's snapshot "
                    + "summary records the export");
        }

        @Override
        public boolean commit(ReadResult result) {
            for (Map.Entry<TablePlan, TableChanges> table : tables.entrySet()) {
                Map<String, String> summary = new LinkedHashMap<>();
                summary.put("cdc.job-id", plan.jobId().toString());
                summary.put("cdc.attempt", Integer.toString(plan.attempt()));
                summary.put("cdc.consumer", plan.consumer().value());
                summary.put("cdc.source-table", table.getKey().table().qualified());
                summary.put("cdc.export-type", plan.type().slug());
                summary.put("cdc.snapshot", result.snapshot().text());
                table.getKey().watermark().ifPresent(p -> summary.put("cdc.previous-snapshot", p.text()));
                summary.put("cdc.read-from", result.readFrom());
                table.getValue().commit(summary);
                jdbc.sql("INSERT INTO iceberg_applied (consumer_id, table_name, snapshot) VALUES (?, ?, ?::pg_snapshot) "
                                + "ON CONFLICT (consumer_id, table_name) DO UPDATE SET snapshot = EXCLUDED.snapshot")
                        .params(plan.consumer().value(), table.getKey().table().qualified(),
                                result.snapshot().text())
                        .update();
            }
            return true;
        }

        @Override
        public boolean discardPublished() {
            return fence.whileLatest(() -> tables.values().forEach(TableChanges::discard));
        }

        @Override
        public void close() {
            if (!published) {
                tables.values().forEach(TableChanges::discard);
            }
        }
    }
}
