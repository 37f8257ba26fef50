package com.cdcexport.export.model;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.ExportFormat;

/**
 * One export as decided when its job was claimed: every later step (read, format, destination, manifest, commit)
 * reads it and none decides again what kind of export it is.
 *
 * @param attempt      the claim of the job this plan runs under; fences its files and its commit
 * @param tables       the tables in the order of the job's files, read in one snapshot
 * @param manifestName the manifest's name; empty for jobs queued before manifests existed
 */
public record ExportPlan(UUID jobId, int attempt, ConsumerId consumer, ExportType type, ExportFormat format,
                         List<TablePlan> tables, Optional<String> manifestName, Instant startedAt) {

    public ExportPlan {
        tables = List.copyOf(tables);
    }

    /**
     * One table of the export.
     *
     * @param read       what is read of the table
     * @param watermark  the consumer's snapshot P of the table when the job was claimed (empty: none yet): the
     *                   value the commit's compare-and-set expects, whatever the read
     * @param access     the columns, rows and masks the consumer may see, read once for the whole export
     * @param outputName the name of the table's output (its file)
     */
    public record TablePlan(TableName table, Read read, Optional<Snapshot> watermark, TableAccess access,
                            String outputName) {

        public TablePlan {
            if (read.hasWindow() && watermark.isEmpty()) {
                throw new IllegalArgumentException(read + " of " + table + " needs a watermark to read from");
            }
        }

        /** The change window's lower end P: present only for reads of a window. */
        public Optional<Snapshot> window() {
            return read.hasWindow() ? watermark : Optional.empty();
        }
    }

    /** What an export reads of one table: decided from the export's type and the consumer's watermark alone. */
    public enum Read {
        /** Every live row: a full export, or an incremental one with no watermark yet. */
        WHOLE_TABLE(false, false),
        /** The live rows changed since P, as S sees them: an incremental export. */
        CHANGED_ROWS(true, false),
        /** Every row the consumer may see, each an INSERT (or as the soft-delete rule says): a first delta. */
        WHOLE_TABLE_AS_CHANGES(false, true),
        /** One row per key changed since P, with its operation: a delta. */
        CHANGES(true, true);

        private final boolean window;
        private final boolean operations;

        Read(boolean window, boolean operations) {
            this.window = window;
            this.operations = operations;
        }

        /** The one decision of what kind of read an export is. */
        public static Read of(ExportType type, boolean hasWatermark) {
            return switch (type) {
                case FULL -> WHOLE_TABLE;
                case INCREMENTAL -> hasWatermark ? CHANGED_ROWS : WHOLE_TABLE;
                case DELTA -> hasWatermark ? CHANGES : WHOLE_TABLE_AS_CHANGES;
            };
        }

        /** Whether the read is a change window since the watermark P (otherwise the whole table as S sees it). */
        public boolean hasWindow() {
            return window;
        }

        /** Whether each row carries its operation (INSERT, UPDATE, DELETE): a delta's file. */
        public boolean hasOperations() {
            return operations;
        }
    }

    /** Whose held rows the export reads, and under which attempt it stages what the consumer holds afterwards. */
    public HeldRowsScope heldRows() {
        return new HeldRowsScope(consumer.value(), jobId, attempt);
    }

    /** See held_rows in the migrations and docs/capture.md; only tables seen through a row filter use it. */
    public record HeldRowsScope(String consumerId, UUID jobId, int attempt) {
    }
}
