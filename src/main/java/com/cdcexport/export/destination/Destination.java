package com.cdcexport.export.destination;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;

/**
 * Where an export's outputs go: files in a directory or a bucket, or tables (Iceberg). One export is written by one
 * attempt at a time, but a runner that lost its claim may still be running beside the attempt that took over, so
 * nothing an attempt does may touch what a later attempt wrote, and nothing becomes visible before it is complete.
 *
 * <p>The pipeline drives an attempt through these steps, in order: {@link Attempt#open} each table's output and
 * stream its rows into it; {@link Attempt#publish} them all; {@link Attempt#publishManifest}; then the export's
 * commit (job and watermarks, in the service's database), inside which {@link Attempt#commit} runs and after which
 * {@link Attempt#committed} runs. A failure at
 * any step before the commit ends in {@link Attempt#discardPublished} and {@link Attempt#close}: nothing of the
 * attempt stays.
 */
public interface Destination {

    /** Whether this destination takes exports of {@code format}: files for file formats, tables for table formats. */
    boolean writes(ExportFormat format);

    /** Starts one attempt of {@code plan}: nothing it writes is visible to readers before it publishes. */
    Attempt begin(ExportPlan plan, Fence fence) throws IOException;

    /**
     * Whether the consumer's output of {@code table} stands at {@code watermark}, so that a window since it can be
     * applied to it. Files stand alone (the consumer applies them): always. A table destination holds the result of
     * the exports it received, which is at the watermark only if the watermark's last move came from it.
     */
    default boolean continuesFrom(ConsumerId consumer, TableName table, Snapshot watermark) {
        return true;
    }

    /** Where outputs go, for messages: a directory's path, {@code s3://bucket/prefix}. */
    String location();

    /** One attempt's outputs, in the making. */
    interface Attempt extends AutoCloseable {

        /**
         * The stream one table's output is written into; tables are opened in the plan's order.
         *
         * @param columns the columns of the rows the stream carries, as the format renders them
         * @param key     the table's primary key columns
         */
        OutputStream open(TablePlan table, List<FileColumn> columns, List<String> key) throws IOException;

        /**
         * Makes every table's output durable, then visible under its final name, never replacing an output of
         * another attempt that may still commit.
         */
        void publish() throws IOException;

        /** Stores the export's manifest beside its outputs: present means every output it lists is complete. */
        void publishManifest(byte[] manifest) throws IOException;

        /**
         * Inside the export's commit transaction, after the job and watermarks were written: what must become
         * visible exactly when they do (a table's commit). Files have nothing to do here.
         *
         * @return whether it did work that belongs to the export's time (the job's end is stamped after it)
         */
        default boolean commit(ReadResult result) throws IOException {
            return false;
        }

        /** After the export's commit: the outputs now count. Nothing is left to do for files. */
        default void committed() {
        }

        /**
         * Removes what this attempt published, under the {@link Fence}: when a later attempt owns the export (or it
         * completed), nothing is removed.
         *
         * @return false when the fence said the outputs are no longer this attempt's to remove
         */
        boolean discardPublished();

        /** Releases the attempt; whatever it wrote and did not publish is removed. */
        @Override
        void close() throws IOException;
    }

    /**
     * How a destination removes published outputs safely: {@code removal} runs only while no later attempt of the
     * export can be claimed or commit, and only if this attempt is still the latest and has not committed (the
     * queue holds the job's row lock meanwhile; see the job package's JobFiles).
     */
    @FunctionalInterface
    interface Fence {

        /** @return whether {@code removal} ran */
        boolean whileLatest(Runnable removal);
    }
}
