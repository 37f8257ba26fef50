package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.iceberg.Table;

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

    private static final List<FileColumn> COLUMNS = OrdersCopy.COLUMNS;
    private static final List<String> KEY = OrdersCopy.KEY;

    private IcebergCompactionBench() {
    }

    public static void main(String[] args) throws IOException {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int deltas = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        double percent = args.length > 2 ? Double.parseDouble(args[2]) : 1;
        Path warehouse = Files.createTempDirectory("cdc-compaction-bench");
        Table table = OrdersCopy.newTable(warehouse);

        long start = System.nanoTime();
        OrdersCopy.commitFull(new TableChanges(table, "bench-full", COLUMNS, KEY, true, false), rows);
        long nextId = rows + 1L;
        int changed = (int) Math.round(rows * percent / 100);
        List<FileColumn> withOperation = new ArrayList<>();
        withOperation.add(FileColumn.OPERATION);
        withOperation.addAll(COLUMNS);
        for (int d = 1; d <= deltas; d++) {
            table.refresh();
            TableChanges delta = new TableChanges(table, "bench-delta-" + d, withOperation, KEY, false, true);
            try (OutputStream out = delta.stream()) {
                OrdersCopy copy = new OrdersCopy(out);
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
}
