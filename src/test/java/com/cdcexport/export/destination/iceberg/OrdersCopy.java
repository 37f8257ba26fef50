package com.cdcexport.export.destination.iceberg;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
 * Rows of an orders table in binary COPY's form, as PostgreSQL sends an export's: for tests and benches that feed
 * {@link TableChanges} without a database. Row {@code id} of {@code version} has the same values every time.
 */
final class OrdersCopy {

    static final List<FileColumn> COLUMNS = List.of(
            new FileColumn("id", "bigint", "N", false, null, 1),
            new FileColumn("customer", "text", "S", true, null, 2),
            new FileColumn("total", "numeric(12,2)", "N", true, null, 3),
            new FileColumn("status", "text", "S", true, null, 4),
            new FileColumn("placed_at", "timestamp with time zone", "D", true, null, 5));
    static final List<String> KEY = List.of("id");

    private static final long EPOCH_2000_MICROS = 946_684_800_000_000L;

    /** A new, empty orders table (format v2) in a catalog of its own, its warehouse {@code warehouse}. */
    static Table newTable(Path warehouse) {
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("orders", Map.of(CatalogProperties.WAREHOUSE_LOCATION, warehouse.toUri().toString(),
                CatalogProperties.FILE_IO_IMPL, LocalFileIO.class.getName()));
        catalog.createNamespace(Namespace.of("orders"));
        return catalog.buildTable(TableIdentifier.of("orders", "orders"), IcebergSchemas.newSchema(COLUMNS, KEY))
                .withProperty(TableProperties.FORMAT_VERSION, "2").create();
    }
    private final OutputStream out;
    private final ByteArrayOutputStream row = new ByteArrayOutputStream();

    OrdersCopy(OutputStream out) throws IOException {
        this.out = out;
        out.write(new byte[] {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0,
            0, 0});
    }

    /** Writes rows 1..{@code rows} (version 0) as a full export into {@code changes} and commits them. */
    static void commitFull(TableChanges changes, long rows) throws IOException {
        try (OutputStream out = changes.stream()) {
            OrdersCopy copy = new OrdersCopy(out);
            for (long id = 1; id <= rows; id++) {
                copy.row(null, id, 0);
            }
            copy.end();
        }
        changes.finish();
        changes.prepare(new java.util.HashMap<>()).commitTransaction();
    }

    /** @param operation a delta's INSERT, UPDATE or DELETE; null for a full export's row */
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
