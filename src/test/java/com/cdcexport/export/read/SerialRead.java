package com.cdcexport.export.read;

import java.io.OutputStream;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.EncodedOutput;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.Read;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableAccess;
import com.cdcexport.export.model.TableName;

/** One table read by a {@link SnapshotReader} of the test's own, straight into {@code out}, as the pipeline does. */
final class SerialRead {

    private SerialRead() {
    }

    static void read(SnapshotReader reader, ExportType type, ExportFormat format, TableName table,
                     Optional<Snapshot> since, OutputStream out) throws Exception {
        ExportPlan plan = new ExportPlan(UUID.randomUUID(), 1, new ConsumerId("reader-test"), type, format,
                List.of(new TablePlan(table, Read.of(type, since.isPresent()), since, TableAccess.ALL, "out")),
                Optional.empty(), Instant.now());
        try (SnapshotReader.SnapshotRead read = reader.open(plan, new ExportProgress())) {
            for (SnapshotReader.TableRead each : read.tables()) {
                try (EncodedOutput encoded = format.open(out, each.columns())) {
                    each.copyTo(encoded);
                    encoded.finish();
                }
            }
            read.finish();
        }
    }
}
