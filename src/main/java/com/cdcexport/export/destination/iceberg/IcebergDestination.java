package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.iceberg.BaseTransaction;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.Transaction;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableCommit;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.NoSuchNamespaceException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.rest.RESTCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * catalog or a REST catalog (ICEBERG_CATALOG). An attempt writes each table's data and delete files while it reads,
 * and commits them all inside the export's commit transaction: in the embedded catalog the pointers swap in that
 * transaction, so the tables change exactly when the watermark moves; in a REST catalog all tables are committed
 * to the catalog at once, just before that transaction commits. See docs/capture.md, "Delivering to an Iceberg
 * table", and docs/iceberg.md.
 */
@Component
public class IcebergDestination implements Destination {

    private static final Logger log = LoggerFactory.getLogger(IcebergDestination.class);
    /** Multi-table commits refused because another writer committed first: tried this many times in all. */
    static final int REST_COMMIT_TRIES = 4;

    private final JdbcClient jdbc;
    private final Catalog catalog;
    /** The REST catalog (ICEBERG_CATALOG=rest), or null for the embedded one. */
    private final RESTCatalog rest;
    private final CdcProperties.Iceberg settings;
    private final String warehouse;

    /**
     * @param files where the tables' files go (a directory, or S3), and the FileIO that writes them
     * @param rest  the REST catalog, used when ICEBERG_CATALOG=rest
     */
    public IcebergDestination(JdbcClient jdbc, CdcProperties properties, IcebergWarehouse files,
                              IcebergRestCatalog rest) {
        this.jdbc = jdbc;
        this.settings = properties.iceberg();
        this.warehouse = rest.enabled() ? settings.restUri().strip() : files.location();
        this.rest = rest.enabled() ? rest.catalog() : null;
        this.catalog = this.rest != null ? this.rest : new IcebergCatalog(jdbc, files.io(), warehouse);
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
        return listTables(namespace).stream().map(id -> {
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

    /** The namespace's tables; none when the namespace does not exist (yet) in a REST catalog. */
    private List<TableIdentifier> listTables(Namespace namespace) {
        try {
            return catalog.listTables(namespace);
        } catch (NoSuchNamespaceException absent) {
            return List.of();
        }
    }

    /**
     * Every table of the service's consumers: in the embedded catalog, all of them; in a REST catalog, shared with
     * others, those in the namespaces of consumers that received an Iceberg export.
     */
    List<TableIdentifier> allTables() {
        if (rest != null) {
            return jdbc.sql("SELECT DISTINCT consumer_id FROM iceberg_applied ORDER BY 1").query(String.class).list()
                    .stream().flatMap(consumer -> listTables(Namespace.of(settings.namespaceOf(consumer))).stream())
                    .toList();
        }
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

    /**
     * The table exists and the last export that moved the watermark to {@code watermark} was applied to it, and the
     * table says so too: the latest snapshot the consumer made, in the current snapshot's ancestry, is the one that
     * export left (or, in a REST catalog, a later commit of a window from the same watermark whose own watermark
     * move was lost: applying the window from the watermark again covers it). A table rolled back, replaced, or
     * written under the consumer's name by someone else is read whole. See docs/capture.md.
     */
    @Override
    public boolean continuesFrom(ConsumerId consumer, TableName table, Snapshot watermark) {
        record Applied(String snapshot, Long icebergSnapshotId) {
        }
        Applied applied = jdbc.sql("SELECT snapshot::text, iceberg_snapshot_id FROM iceberg_applied "
                        + "WHERE consumer_id = ? AND table_name = ?")
                .params(consumer.value(), table.qualified())
                .query((rs, row) -> new Applied(rs.getString(1), rs.getObject(2, Long.class))).optional()
                .orElse(null);
        if (applied == null || !applied.snapshot().equals(watermark.text())) {
            return false;
        }
        TableIdentifier identifier = identifierOf(consumer, table);
        if (applied.icebergSnapshotId() == null && rest == null) {
            // Applied before the snapshot was recorded (embedded catalog): the pointer swapped with the watermark.
            return catalog.tableExists(identifier);
        }
        Table iceberg;
        try {
            iceberg = catalog.loadTable(identifier);
        } catch (NoSuchTableException absent) {
            return false;
        }
        org.apache.iceberg.Snapshot latest = latestOf(iceberg, consumer);
        boolean continues = latest != null && (Long.valueOf(latest.snapshotId()).equals(applied.icebergSnapshotId())
                || watermark.text().equals(latest.summary().get("cdc.previous-snapshot")));
        if (!continues) {
            log.info("Iceberg table {} is not where consumer {}'s last export left it (its latest snapshot of the "
                    + "consumer: {}); the table is read whole", identifier, consumer.value(),
                    latest == null ? "none" : latest.snapshotId());
        }
        return continues;
    }

    /**
     * The latest snapshot {@code consumer}'s exports made, walking back from the current one; null if none. Upkeep's
     * rewrites are passed over: they carry the cdc.* keys of the snapshot they rewrote (for readers of the summary),
     * but hold the same rows and were made by no export.
     */
    private static org.apache.iceberg.Snapshot latestOf(Table table, ConsumerId consumer) {
        org.apache.iceberg.Snapshot snapshot = table.currentSnapshot();
        while (snapshot != null) {
            if (consumer.value().equals(snapshot.summary().get("cdc.consumer"))
                    && !snapshot.summary().containsKey(IcebergCompaction.UPKEEP)) {
                return snapshot;
            }
            snapshot = snapshot.parentId() == null ? null : table.snapshot(snapshot.parentId());
        }
        return null;
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
            if (rest != null && !rest.namespaceExists(identifier.namespace())) {
                try {
                    rest.createNamespace(identifier.namespace());
                } catch (AlreadyExistsException raced) {
                    // another export of the consumer made it
                }
            }
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
        private final Map<TablePlan, TableIdentifier> identifiers = new LinkedHashMap<>();
        private boolean published;
        /**
         * Whether a commit was sent to the REST catalog: it may have gone through whatever this process heard back,
         * and then the catalog references the files, so the attempt never removes them (upkeep decides later).
         */
        private boolean sentToCatalog;

        IcebergAttempt(ExportPlan plan, Fence fence) {
            this.plan = plan;
            this.fence = fence;
        }

        @Override
        public OutputStream open(TablePlan table, List<FileColumn> columns, List<String> key) {
            boolean operations = table.read().hasOperations();
            List<FileColumn> tableColumns = operations ? columns.subList(1, columns.size()) : columns;
            TableIdentifier identifier = identifierOf(plan.consumer(), table.table());
            Table iceberg = loadOrCreate(identifier, tableColumns, key);
            identifiers.put(table, identifier);
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

        private Map<String, String> summary(TablePlan table, ReadResult result) {
            Map<String, String> summary = new LinkedHashMap<>();
            summary.put("cdc.job-id", plan.jobId().toString());
            summary.put("cdc.attempt", Integer.toString(plan.attempt()));
            summary.put("cdc.consumer", plan.consumer().value());
            summary.put("cdc.source-table", table.table().qualified());
            summary.put("cdc.export-type", plan.type().slug());
            summary.put("cdc.snapshot", result.snapshot().text());
            table.watermark().ifPresent(p -> summary.put("cdc.previous-snapshot", p.text()));
            summary.put("cdc.read-from", result.readFrom());
            return summary;
        }

        @Override
        public boolean commit(ReadResult result) {
            Map<TablePlan, Long> snapshotIds = new LinkedHashMap<>();
            if (rest == null) {
                for (Map.Entry<TablePlan, TableChanges> table : tables.entrySet()) {
                    Transaction transaction = table.getValue().prepare(summary(table.getKey(), result));
                    if (transaction != null) {
                        transaction.commitTransaction();
                        snapshotIds.put(table.getKey(), snapshotOf(transaction));
                    }
                }
            } else {
                snapshotIds = commitToRest(result);
            }
            for (TablePlan table : tables.keySet()) {
                // An empty window makes no snapshot: the table is still at the one the last export left.
                jdbc.sql("INSERT INTO iceberg_applied (consumer_id, table_name, snapshot, iceberg_snapshot_id) "
                                + "VALUES (?, ?, ?::pg_snapshot, ?) ON CONFLICT (consumer_id, table_name) DO UPDATE "
                                + "SET snapshot = EXCLUDED.snapshot, iceberg_snapshot_id = "
                                + "COALESCE(EXCLUDED.iceberg_snapshot_id, iceberg_applied.iceberg_snapshot_id)")
                        .params(plan.consumer().value(), table.table().qualified(), result.snapshot().text(),
                                snapshotIds.get(table))
                        .update();
            }
            return true;
        }

        /**
         * Commits every changed table to the REST catalog, all or none: one table through Iceberg's own commit
         * (refreshed and retried on a conflict), several in one multi-table commit, prepared again on fresh
         * metadata when another writer committed first. Runs inside the export's database transaction, after the
         * job row was completed under its attempt (so only the latest attempt gets here) and before that
         * transaction commits. See docs/capture.md, "With a REST catalog".
         *
         * @return the Iceberg snapshot each changed table is now at
         */
        private Map<TablePlan, Long> commitToRest(ReadResult result) {
            Map<TablePlan, TableChanges> changing = new LinkedHashMap<>();
            tables.forEach((table, changes) -> {
                if (changes.changesTable()) {
                    changing.put(table, changes);
                }
            });
            Map<TablePlan, Long> snapshotIds = new LinkedHashMap<>();
            if (changing.size() == 1) {
                Map.Entry<TablePlan, TableChanges> only = changing.entrySet().iterator().next();
                Transaction transaction = only.getValue().prepare(summary(only.getKey(), result));
                sentToCatalog = true;
                transaction.commitTransaction();
                snapshotIds.put(only.getKey(), snapshotOf(transaction));
                return snapshotIds;
            }
            for (int round = 1; !changing.isEmpty(); round++) {
                List<TableCommit> commits = new ArrayList<>();
                snapshotIds.clear();
                for (Map.Entry<TablePlan, TableChanges> table : changing.entrySet()) {
                    BaseTransaction transaction = (BaseTransaction) table.getValue()
                            .prepare(summary(table.getKey(), result));
                    commits.add(TableCommit.create(identifiers.get(table.getKey()), transaction.startMetadata(),
                            transaction.currentMetadata()));
                    snapshotIds.put(table.getKey(), transaction.currentMetadata().currentSnapshot().snapshotId());
                }
                sentToCatalog = true;
                try {
                    rest.commitTransaction(commits);
                    return snapshotIds;
                } catch (CommitFailedException conflict) {
                    if (round == REST_COMMIT_TRIES) {
                        throw conflict;
                    }
                    log.info("Job {}: the REST catalog refused the commit of {} tables ({}); another writer "
                            + "committed first, trying again on the tables' new state", plan.jobId(), commits.size(),
                            conflict.getMessage());
                    pause(round);
                    changing.values().forEach(changes -> changes.table().refresh());
                } catch (UnsupportedOperationException unsupported) {
                    throw new IllegalStateException("The Iceberg REST catalog at ICEBERG_REST_URI does not offer "
                            + "multi-table commits (/v1/transactions/commit), which an export of several tables "
                            + "needs: export the tables one at a time, or use ICEBERG_CATALOG=embedded", unsupported);
                }
            }
            return snapshotIds;
        }

        /** The snapshot a transaction made (after its retries, Iceberg keeps the snapshot's id). */
        private static long snapshotOf(Transaction transaction) {
            return ((BaseTransaction) transaction).currentMetadata().currentSnapshot().snapshotId();
        }

        private void pause(int round) {
            try {
                Thread.sleep(100L << round);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while committing to the Iceberg REST catalog", e);
            }
        }

        @Override
        public boolean discardPublished() {
            if (sentToCatalog) {
                log.info("Job {}: its files stay, as its commit to the Iceberg REST catalog may have gone through; "
                        + "upkeep removes them if nothing references them", plan.jobId());
                return true;
            }
            return fence.whileLatest(() -> tables.values().forEach(TableChanges::discard));
        }

        @Override
        public void close() {
            if (!published && !sentToCatalog) {
                tables.values().forEach(TableChanges::discard);
            }
        }
    }
}
