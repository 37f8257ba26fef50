package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data file is closed once it passes its target size and the next one begun (512 MiB in exports; here 256 KiB
 * with row groups of 64 KiB, so that a few megabytes show it): the files hold every row once between them.
 */
class IcebergFileRollingTest {

    private static final long TARGET = 256 << 10;
    private static final long GROUP = 64 << 10;

    @TempDir
    Path warehouse;

    @Test
    void aTableLargerThanTheTargetFileSizeIsWrittenAsSeveralFilesThatHoldEveryRowOnce() throws IOException {
        Table table = OrdersCopy.newTable(warehouse);
        int rows = 60_000;

        OrdersCopy.commitFull(new TableChanges(table, "full", OrdersCopy.COLUMNS, OrdersCopy.KEY, true, false)
                .sized(TARGET, GROUP), rows);
        table.refresh();

        List<DataFile> files = new ArrayList<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(task -> files.add(task.file()));
        }
        assertThat(files).as("several files of ~%d bytes", TARGET).hasSizeGreaterThan(2);
        // a file is closed at the first row group that takes it past the target: by at most one group more
        assertThat(files).allSatisfy(file -> assertThat(file.fileSizeInBytes()).isLessThan(TARGET + 2 * GROUP));
        assertThat(files.stream().mapToLong(DataFile::recordCount).sum()).isEqualTo(rows);

        List<Long> ids = new ArrayList<>();
        try (CloseableIterable<Record> read = IcebergGenerics.read(table).build()) {
            read.forEach(record -> ids.add((Long) record.getField("id")));
        }
        ids.sort(null);
        assertThat(ids).as("Iceberg's reader: every row once")
                .containsExactlyElementsOf(LongStream.rangeClosed(1, rows).boxed().toList());
    }
}
