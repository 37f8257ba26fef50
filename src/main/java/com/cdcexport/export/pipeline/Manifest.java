package com.cdcexport.export.pipeline;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.config.Timestamps;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ReadResult;
import com.cdcexport.export.model.ReadResult.TableResult;
import com.cdcexport.export.model.Snapshot;

/**
 * The completion marker of one export, written beside its files after they are all published and before the
 * commit: present means every file it lists is complete and has the size and SHA-256 it states.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record Manifest(
        int manifestVersion,
        Service service,
        String jobId,
        String consumerId,
        String exportType,
        String format,
        List<String> tables,
        String snapshot,
        String snapshotTakenAt,
        String readFrom,
        String startedAt,
        String finishedAt,
        List<FileEntry> files) {

    static final int VERSION = 1;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    record Service(String name, String version) {
    }

    /**
     * One table's file.
     *
     * @param previousSnapshot the snapshot of the consumer's previous export of the table, which this one
     *                         continues from; null for a full export or the first one
     * @param operations       a delta's rows by operation
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record FileEntry(String name, String table, long rows, long bytes, String sha256, List<Column> columns,
                     String previousSnapshot, String snapshot, Map<String, Long> operations) {
    }

    /** @param mask how the column's values were masked for this consumer ({@code hmac-sha256}, {@code null}) */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Column(String name, String type, String mask) {
    }

    /** One table's output as stored: what was read into it, its size and SHA-256. */
    record Stored(TableResult table, long bytes, String sha256) {
    }

    static Manifest of(ExportPlan plan, String version, ReadResult result, List<Stored> stored, Instant finishedAt) {
        List<FileEntry> files = new ArrayList<>();
        for (Stored output : stored) {
            TableResult table = output.table();
            TablePlan planned = table.plan();
            files.add(new FileEntry(planned.outputName(), table.table().qualified(), table.rows(), output.bytes(),
                    output.sha256(),
                    table.columns().stream().map(c -> new Column(c.name(), c.type(), c.mask())).toList(),
                    planned.window().map(Snapshot::text).orElse(null), result.snapshot().text(),
                    planned.read().hasOperations() ? table.operations() : null));
        }
        return new Manifest(VERSION, new Service("cdc-export", version), plan.jobId().toString(),
                plan.consumer().value(), plan.type().slug(), plan.format().slug(),
                plan.tables().stream().map(t -> t.table().qualified()).toList(), result.snapshot().text(),
                Timestamps.json(result.snapshotTime()), result.readFrom(), Timestamps.json(plan.startedAt()),
                Timestamps.json(finishedAt), files);
    }

    byte[] json() {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
    }
}
