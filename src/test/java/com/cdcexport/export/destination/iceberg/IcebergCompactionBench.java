package com.cdcexport.export.destination.iceberg;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.inmemory.InMemoryCatalog;

import com.cdcexport.export.format.FileColumn;

/**
 * Not a test: the time and heap of upkeep's rewrite of a table of orders after deltas, written through the
 * export's own path (TableChanges, fed binary COPY rows as PostgreSQL sends them) in a local warehouse of an
 * in-memory catalog, so it needs no database. Run it on the service's run-time class path (no Hadoop on it) with
 * -Xmx128m; see docs/iceberg.md ("Upkeep") for the command and the numbers.
 *
 * <p>Arguments: rows (200000), deltas (10), percent of the rows each delta changes (1): half of them updated, a
 * quarter deleted, a quarter new keys.
 */
public final class IcebergCompactionBench {

    private static final List<FileColumn> COLUMNS = List.of(
            new FileColumn("id", "bigint", "N", false, null, 1),
            new FileColumn("customer", "text", "S", true, null, 2),
            new FileColumn("total", "numeric(12,2)", "N", true, null, 3),
            new FileColumn("status", "text", "S", true, null, 4),
            new FileColumn("placed_at", "timestamp with time zone", "D", true, null, 5));
    private static final List<String> KEY = List.of("id");

    private IcebergCompactionBench() {
    }

    public static void main(String[] args) throws IOException {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int deltas = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        double percent = args.length > 2 ? Double.parseDouble(args[2]) : 1;
        Path warehouse = Files.createTempDirectory("cdc-compaction-bench");
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("bench", Map.of(CatalogProperties.WAREHOUSE_LOCATION, warehouse.toUri().toString(),
                CatalogProperties.FILE_IO_IMPL, LocalFileIO.class.getName()));
        catalog.createNamespace(Namespace.of("bench"));
        Table table = catalog.buildTable(TableIdentifier.of("bench", "orders"), IcebergSchemas.newSchema(COLUMNS, KEY))
                .withProperty(TableProperties.FORMAT_VERSION, "2").create();

        long start = System.nanoTime();
        TableChanges full = new TableChanges(table, "bench-full", COLUMNS, KEY, true, false);
        try (OutputStream out = full.stream()) {
            Copy copy = new Copy(out);
            for (long id = 1; id <= rows; id++) {
                copy.row(null, id, 0);
            }
            copy.end();
        }
        full.finish();
        full.prepare(new java.util.HashMap<>()).commitTransaction();
        long nextId = rows + 1L;
        int changed = (int) Math.round(rows * percent / 100);
        List<FileColumn> withOperation = new ArrayList<>();
        withOperation.add(FileColumn.OPERATION);
        withOperation.addAll(COLUMNS);
        for (int d = 1; d <= deltas; d++) {
            table.refresh();
            TableChanges delta = new TableChanges(table, "bench-delta-" + d, withOperation, KEY, false, true);
            try (OutputStream out = delta.stream()) {
                Copy copy = new Copy(out);
                for (int i = 0; i < changed; i++) {
                    int kind = i % 4;
                    if (kind == 3) {
                        copy.row("INSERT", nextId++, d);
                    } else {
                        // distinct keys within a delta, as a delta has them (104729 is a prime)
                        copy.row(kind == 2 ? "DELETE" : "UPDATE", 1 + (d * 7919L + i) * 104_729L % rows, d);
                    }
                }
                copy.end();
            }
            delta.finish();
            delta.prepare(new java.util.HashMap<>()).commitTransaction();
        }
        table.refresh();
        Map<String, String> before = table.currentSnapshot().summary();
        System.out.printf(Locale.ROOT, "built %d rows + %d deltas of %d changes in %d ms: %s data files, %s delete "
                        + "files, %s equality deletes%n", rows, deltas, changed,
                (System.nanoTime() - start) / 1_000_000,
                before.get("total-data-files"), before.get("total-delete-files"), before.get("total-equality-deletes"));

        // The heap it needs is found by running it with smaller -Xmx until it fails: a pool's peak usage counts
        // garbage not yet collected, which says nothing of what the rewrite holds.
        System.gc();
        start = System.nanoTime();
        IcebergCompaction.Outcome outcome = new IcebergCompaction(1, 100_000).rewrite(table, () -> { });
        long millis = (System.nanoTime() - start) / 1_000_000;
        table.refresh();
        Map<String, String> after = table.currentSnapshot().summary();
        System.out.printf(Locale.ROOT, "rewrite: %s in %d ms (max heap %.0f MB); now %s records in %s data files, %s "
                        + "delete files%n", outcome, millis, Runtime.getRuntime().maxMemory() / 1e6,
                after.get("total-records"), after.get("total-data-files"), after.get("total-delete-files"));
        try (var files = Files.walk(warehouse)) {
            for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }

    /** Rows in binary COPY's form, as PostgreSQL sends an export's. */
    private static final class Copy {
        private static final long EPOCH_2000_MICROS = 946_684_800_000_000L;
        private final OutputStream out;
        private final ByteArrayOutputStream row = new ByteArrayOutputStream();

        Copy(OutputStream out) throws IOException {
            this.out = out;
            out.write(new byte[] {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0,
                0, 0});
        }

        void row(String operation, long id, int version) throws IOException {
            row.reset();
            int fields = operation == null ? 5 : 6;
            row.write(fields >>> 8);
            row.write(fields);
            if (operation != null) {
                field(operation.getBytes(StandardCharsets.US_ASCII));
            }
            field(long64(id));
            field(("Customer " + id).getBytes(StandardCharsets.UTF_8));
            field(String.format(Locale.ROOT, "%d.%02d", id % 10_000 + version, id % 100)
                    .getBytes(StandardCharsets.US_ASCII));
            field((version == 0 ? "new" : "changed in " + version).getBytes(StandardCharsets.UTF_8));
            field(long64(1_767_225_600_000_000L + id * 60_000_000L - EPOCH_2000_MICROS));
            row.writeTo(out);
        }

        void end() throws IOException {
            out.write(new byte[] {(byte) 0xff, (byte) 0xff});
        }

        private void field(byte[] value) {
            row.write(value.length >>> 24);
            row.write(value.length >>> 16);
            row.write(value.length >>> 8);
            row.write(value.length);
            row.writeBytes(value);
        }

        private static byte[] long64(long v) {
            byte[] b = new byte[8];
            for (int i = 0; i < 8; i++) {
                b[i] = (byte) (v >>> (56 - 8 * i));
            }
            return b;
        }
    }
}
