package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileMetadata;
import org.apache.iceberg.OverwriteFiles;
import org.apache.iceberg.RewriteFiles;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.Transaction;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.io.PositionOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.cdcexport.export.format.BinaryCopyParser;
import com.cdcexport.export.format.BinaryCopyParser.Row;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.format.ParquetRowWriter;

/**
 * One table's part of an export to Iceberg: the files one attempt writes from the table's rows, then the commit
 * that applies them. A read of the whole table replaces the table's files; a window (incremental, delta) deletes
 * every key it read by equality and adds the rows that exist in S. See docs/capture.md, "Delivering to an Iceberg
 * table".
 */
final class TableChanges {

    private static final Logger log = LoggerFactory.getLogger(TableChanges.class);

    private static final byte[] DELETE = "DELETE".getBytes(StandardCharsets.US_ASCII);
    /** Iceberg's default target size: a data file is closed and the next one begun past it (readers split by file). */
    static final long TARGET_FILE_BYTES = 512L << 20;
    /**
     * Where a commit reads and writes its manifests: the export's own thread. Iceberg's shared worker pool is shut
     * down by a JVM shutdown hook of Iceberg's the moment SIGTERM arrives, so an export drained at shutdown
     * (EXPORT_SHUTDOWN_GRACE) had its commit rejected and failed; and a commit has only a few small files to write.
     */
    private static final ExecutorService IN_THIS_THREAD = new InCallingThread();

    private final Table table;
    private final String fileStem;
    private final boolean replacesAll;
    private final boolean hasOperations;
    private final Schema schema;
    private final Consumer<UpdateSchema> evolution;
    /** The new value of {@link IcebergSchemas#SOURCE_COLUMNS}, or null when it stays. */
    private final String sourceColumns;
    private final List<FileColumn> dataColumns = new ArrayList<>();
    private final int[] dataFields;
    private final int[] dataIds;
    private final List<FileColumn> keyColumns = new ArrayList<>();
    private final int[] keyFields;
    private final int[] keyIds;
    private final BinaryCopyParser parser;
    private final List<String> written = new ArrayList<>();
    private FileWriter data;
    private FileWriter deletes;
    private long targetFileBytes = TARGET_FILE_BYTES;
    private long rowGroupBytes = ParquetRowWriter.ROW_GROUP_BYTES;
    private final List<DataFile> dataFiles = new ArrayList<>();
    private final List<DeleteFile> deleteFiles = new ArrayList<>();

    /**
     * @param columns       the columns of the rows COPY sends, the operation first when {@code hasOperations}
     * @param replacesAll   whether the rows are the whole table (else a window of changed keys)
     * @param hasOperations whether each row starts with its operation (a delta)
     */
    TableChanges(Table table, String fileStem, List<FileColumn> columns, List<String> key, boolean replacesAll,
                 boolean hasOperations) {
        this(table, fileStem, columns, key, replacesAll, hasOperations, IcebergSchemas.evolution(table.name(),
                table.schema(), IcebergSchemas.recorded(table.properties()),
                columns.subList(hasOperations ? 1 : 0, columns.size()), key));
    }

    /**
     * The files of upkeep's rewrite of {@code table} (see {@link IcebergCompaction}): rows of {@code schema}'s
     * columns, written as an export writes them, with no change to the schema or its recorded column numbers.
     */
    static TableChanges rewriteOf(Table table, Schema schema, String fileStem, List<FileColumn> columns) {
        return new TableChanges(table, schema, fileStem, columns, List.copyOf(schema.identifierFieldNames()));
    }

    private TableChanges(Table table, Schema schema, String fileStem, List<FileColumn> columns, List<String> key) {
        this(table, fileStem, columns, key, true, false, null, schema, false);
    }

    private TableChanges(Table table, String fileStem, List<FileColumn> columns, List<String> key,
                         boolean replacesAll, boolean hasOperations, Consumer<UpdateSchema> evolution) {
        this(table, fileStem, columns, key, replacesAll, hasOperations, evolution,
                evolution == null ? table.schema() : preview(table, evolution), true);
    }

    /** @param followsSource whether the columns are the source's, whose numbers the table records */
    private TableChanges(Table table, String fileStem, List<FileColumn> columns, List<String> key,
                         boolean replacesAll, boolean hasOperations, Consumer<UpdateSchema> evolution, Schema schema,
                         boolean followsSource) {
        this.table = table;
        this.fileStem = fileStem;
        this.replacesAll = replacesAll;
        this.hasOperations = hasOperations;
        int first = hasOperations ? 1 : 0;
        List<FileColumn> tableColumns = columns.subList(first, columns.size());
        this.evolution = evolution;
        this.schema = schema;
        String sourceColumns = followsSource ? IcebergSchemas.sourceColumns(schema, tableColumns) : null;
        this.sourceColumns = sourceColumns == null
                || sourceColumns.equals(table.properties().get(IcebergSchemas.SOURCE_COLUMNS)) ? null : sourceColumns;
        List<Integer> fields = new ArrayList<>();
        List<Integer> keys = new ArrayList<>();
        for (int i = first; i < columns.size(); i++) {
            FileColumn column = columns.get(i);
            dataColumns.add(column);
            fields.add(i);
            if (key.contains(column.name())) {
                keyColumns.add(column);
                keys.add(i);
            }
        }
        this.dataFields = fields.stream().mapToInt(Integer::intValue).toArray();
        this.dataIds = dataColumns.stream().mapToInt(c -> schema.findField(c.name()).fieldId()).toArray();
        this.keyFields = keys.stream().mapToInt(Integer::intValue).toArray();
        this.keyIds = keyColumns.stream().mapToInt(c -> schema.findField(c.name()).fieldId()).toArray();
        this.parser = new BinaryCopyParser(columns.size(), this::accept);
    }

    /** The schema an update would give the table, with the ids Iceberg would assign, without committing it. */
    private static Schema preview(Table table, Consumer<UpdateSchema> evolution) {
        UpdateSchema update = table.updateSchema();
        evolution.accept(update);
        return update.apply();
    }

    /** Where COPY's binary rows go. */
    /**
     * Smaller data files and row groups than an export's (512 MiB, 32 MiB), so that a test rolls over to a new file
     * with a few megabytes; call before the first row.
     */
    TableChanges sized(long fileBytes, long groupBytes) {
        this.targetFileBytes = fileBytes;
        this.rowGroupBytes = groupBytes;
        return this;
    }

    OutputStream stream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                parser.write(b, off, len);
            }
        };
    }

    private void accept(Row row) throws IOException {
        boolean deleted = hasOperations && isDelete(row);
        if (!replacesAll) {
            if (deletes == null) {
                deletes = new FileWriter("deletes", keyColumns, keyFields, keyIds);
            }
            deletes.rows.write(row);
        }
        if (!deleted) {
            if (data == null) {
                data = new FileWriter("data", dataColumns, dataFields, dataIds);
            }
            data.rows.write(row);
            if (data.out.getPos() >= targetFileBytes) {
                finishData();
            }
        }
    }

    private void finishData() throws IOException {
        FileWriter.Finished done = data.finish();
        data = null;
        dataFiles.add(DataFiles.builder(table.spec()).withPath(done.location()).withFileSizeInBytes(done.bytes())
                .withRecordCount(done.rows()).withFormat(FileFormat.PARQUET).build());
    }

    private static boolean isDelete(Row row) {
        if (row.length(0) != DELETE.length) {
            return false;
        }
        for (int i = 0; i < DELETE.length; i++) {
            if (row.bytes()[row.offset(0) + i] != DELETE[i]) {
                return false;
            }
        }
        return true;
    }

    /** Completes the files: every row read is in them, durably. */
    void finish() throws IOException {
        parser.finish();
        if (data != null) {
            finishData();
        }
        if (deletes != null) {
            FileWriter.Finished done = deletes.finish();
            deletes = null;
            deleteFiles.add(FileMetadata.deleteFileBuilder(table.spec()).ofEqualityDeletes(keyIds)
                    .withPath(done.location()).withFileSizeInBytes(done.bytes()).withRecordCount(done.rows())
                    .withFormat(FileFormat.PARQUET).build());
        }
    }

    /** Whether this part of the export changes the table (an empty window with no schema change does not). */
    boolean changesTable() {
        return replacesAll || !dataFiles.isEmpty() || !deleteFiles.isEmpty() || evolution != null
                || sourceColumns != null;
    }

    /** The table as last loaded or refreshed. */
    Table table() {
        return table;
    }

    /**
     * The files applied to the table in one Iceberg snapshot (with the schema's update, if any, in the same
     * metadata commit), recording {@code summary} in it: an Iceberg transaction on the table's current metadata,
     * not yet committed (its manifests are written), for the caller to commit: alone, or, with a REST catalog, in
     * one multi-table commit with the other tables'. Null when there is nothing to change.
     */
    Transaction prepare(Map<String, String> summary) {
        if (!changesTable()) {
            return null;
        }
        Transaction transaction = table.newTransaction();
        if (sourceColumns != null) {
            transaction.updateProperties().set(IcebergSchemas.SOURCE_COLUMNS, sourceColumns).commit();
        }
        if (evolution != null) {
            UpdateSchema update = transaction.updateSchema();
            evolution.accept(update);
            update.commit();
            if (!transaction.table().schema().sameSchema(schema)) {
                throw new IllegalStateException("The schema of Iceberg table " + table.name() + " was changed by "
                        + "another writer during this export; export again");
            }
        }
        if (replacesAll) {
            OverwriteFiles overwrite = transaction.newOverwrite().overwriteByRowFilter(Expressions.alwaysTrue())
                    .scanManifestsWith(IN_THIS_THREAD).writeManifestsWith(IN_THIS_THREAD, 1);
            dataFiles.forEach(overwrite::addFile);
            summary.forEach(overwrite::set);
            overwrite.commit();
        } else if (!dataFiles.isEmpty() || !deleteFiles.isEmpty()) {
            RowDelta delta = transaction.newRowDelta().scanManifestsWith(IN_THIS_THREAD)
                    .writeManifestsWith(IN_THIS_THREAD, 1);
            dataFiles.forEach(delta::addRows);
            deleteFiles.forEach(delta::addDeletes);
            summary.forEach(delta::set);
            delta.commit();
        }
        return transaction;
    }

    /**
     * Upkeep's rewrite: replaces {@code data} and {@code deletes}, every file of {@code start}, by the data files
     * written, in one snapshot recording {@code summary}, outside any export's transaction. The new files take
     * {@code start}'s sequence number, so the equality deletes of an export committed after {@code start} (higher
     * numbers) still apply to them; Iceberg validates from {@code start} that every file replaced is still there
     * and got no position deletes, else the commit fails and changes nothing.
     */
    void commitRewrite(org.apache.iceberg.Snapshot start, List<DataFile> data, List<DeleteFile> deletes,
                       Map<String, String> summary) {
        RewriteFiles rewrite = table.newRewrite().validateFromSnapshot(start.snapshotId())
                .dataSequenceNumber(start.sequenceNumber()).scanManifestsWith(IN_THIS_THREAD)
                .writeManifestsWith(IN_THIS_THREAD, 1);
        data.forEach(rewrite::deleteFile);
        deletes.forEach(rewrite::deleteFile);
        dataFiles.forEach(rewrite::addFile);
        summary.forEach(rewrite::set);
        rewrite.commit();
    }

    /** The data files written, once {@link #finish} returned. */
    int dataFileCount() {
        return dataFiles.size();
    }

    /** Removes the files this attempt wrote: only for an attempt whose commit did not and cannot happen. */
    void discard() {
        for (FileWriter writer : new FileWriter[] {data, deletes}) {
            if (writer != null) {
                writer.abandon();
            }
        }
        for (String location : written) {
            try {
                table.io().deleteFile(location);
            } catch (RuntimeException e) {
                // unreferenced either way: upkeep removes it once it is an hour old
                log.warn("Could not remove {} ({}); upkeep will", location, e.toString());
            }
        }
    }

    /** Runs each task in the thread that submits it, and is never shut down. */
    private static final class InCallingThread extends AbstractExecutorService {

        @Override
        public void execute(Runnable task) {
            task.run();
        }

        @Override
        public void shutdown() {
        }

        @Override
        public List<Runnable> shutdownNow() {
            return List.of();
        }

        @Override
        public boolean isShutdown() {
            return false;
        }

        @Override
        public boolean isTerminated() {
            return false;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return false;
        }
    }

    /** One parquet file in the table's data directory, with Iceberg's field ids. */
    private final class FileWriter {
        private final OutputFile file;
        private final PositionOutputStream out;
        private final ParquetRowWriter rows;

        record Finished(String location, long bytes, long rows) {
        }

        FileWriter(String kind, List<FileColumn> columns, int[] fields, int[] ids) {
            file = table.io().newOutputFile(table.locationProvider()
                    .newDataLocation(fileStem + "-" + UUID.randomUUID() + "-" + kind + ".parquet"));
            written.add(file.location());
            out = file.create();
            rows = new ParquetRowWriter(out, columns, fields, ids, rowGroupBytes);
        }

        Finished finish() throws IOException {
            rows.finish();
            long bytes = out.getPos();
            out.close();
            return new Finished(file.location(), bytes, rows.rows());
        }

        void abandon() {
            try {
                out.close();
            } catch (IOException ignored) {
                // the file is removed next
            }
        }
    }
}
