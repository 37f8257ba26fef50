package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import javax.sql.DataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;
import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/**
 * Exports read by three connections in key-range chunks (on tables of any size) are, byte for byte, what the
 * serial export (EXPORT_PARALLELISM=1) writes of the same snapshot.
 */
@TestPropertySource(properties = {"cdc.parallel.parallelism=3", "cdc.parallel.readers=3", "cdc.parallel.min-rows=0"})
class ParallelExportTest extends IntegrationTest {

    private static final Path CHUNK_DIR = createChunkDir();

    @Autowired
    private DataSource dataSource;
    @Autowired
    private CapturedTables capturedTables;
    @Autowired
    private MeterRegistry registry;

    @DynamicPropertySource
    static void chunkDir(DynamicPropertyRegistry properties) {
        properties.add("cdc.parallel.chunk-dir", CHUNK_DIR::toString);
    }

    @Test
    void aParallelFullExportIsTheSerialExportByteForByteWithGapsInTheIds() throws Exception {
        insertUsers(6000);
        jdbc.update("DELETE FROM users WHERE id % 7 = 0 OR id BETWEEN 1000 AND 2500");
        jdbc.update("UPDATE users SET is_deleted = true WHERE id % 11 = 0");
        jdbc.execute("ANALYZE users");
        double chunksBefore = chunksRead();

        Map<String, String> files = exportFiles("full", "gaps", "users");

        assertThat(chunksRead() - chunksBefore).as("read in chunks").isGreaterThanOrEqualTo(6);
        assertThat(read(files.get("public.users"))).isEqualTo(serialExport(TableName.USERS));
        assertThat(chunkFiles()).isEmpty();
    }

    @Test
    void aCompositeKeyAUuidKeyAndEveryTypeExportInOneJobAsSerially() throws Exception {
        jdbc.update("INSERT INTO app.orders (id, customer, total, placed_at) SELECT g, 'customer ' || g, g / 3.0, "
                + "'2026-01-01Z'::timestamptz + g * interval '1 second' FROM generate_series(1, 3000) g");
        jdbc.update("INSERT INTO app.order_lines SELECT o, l, 'sku-' || o || '-' || l, l FROM generate_series(1, 800) o,"
                + " generate_series(1, 5) l");
        jdbc.update("""
                INSERT INTO app.all_types SELECT md5(g::text)::uuid, g * 1.5, (g % 30000)::smallint,
                  g::bigint * 1000000007, g / 7.0, g % 2 = 0,
                  CASE WHEN g % 5 = 0 THEN NULL ELSE 'text "' || g || '",' || chr(10) || 'x' END, 'v' || g, 'abc',
                  ARRAY[g, NULL], ARRAY['a,' || g], jsonb_build_object('g', g), decode(md5(g::text), 'hex'),
                  '2026-01-01'::timestamp + g * interval '1 minute',
                  CASE WHEN g = 7 THEN 'infinity' ELSE '2026-01-01Z'::timestamptz + g * interval '1 second' END,
                  '2026-01-01'::date + g, g * interval '1 second', '00:00'::time + g * interval '1 second'
                FROM generate_series(1, 1500) g""");
        // Statistics for two of them; the third is split from a sample.
        jdbc.execute("ANALYZE app.order_lines; ANALYZE app.all_types");

        Map<String, String> files = exportFiles("full", "many", "app.orders", "app.order_lines", "app.all_types");

        for (String table : List.of("app.orders", "app.order_lines", "app.all_types")) {
            assertThat(read(files.get(table))).as(table)
                    .isEqualTo(serialExport(TableName.parse(table).orElseThrow()));
        }
    }

    /** Compressed chunks are compressed as one stream; binary COPY chunks (parquet) lose their inner framing. */
    @ParameterizedTest
    @EnumSource(value = ExportFormat.class, names = {"CSV_GZ", "JSONL", "JSONL_ZST", "PARQUET"})
    void aParallelExportInAnyFormatIsTheSerialExportInThatFormat(ExportFormat format) throws Exception {
        insertUsers(5000);
        jdbc.update("UPDATE users SET is_deleted = true WHERE id % 13 = 0");
        jdbc.execute("ANALYZE users");
        double chunksBefore = chunksRead();

        Map<String, String> files = exportFiles(format, "full", "in-" + format.name().toLowerCase(Locale.ROOT),
                "users");

        assertThat(chunksRead() - chunksBefore).as("read in chunks").isGreaterThanOrEqualTo(6);
        assertThat(read(files.get("public.users"))).isEqualTo(serialExport(format, ExportType.FULL, TableName.USERS,
                Optional.empty()));
    }

    @Test
    void anEmptyTableOneRowAndMoreWorkersThanRowsExportAsSerially() throws Exception {
        jdbc.update("INSERT INTO app.order_lines VALUES (7, 1, 'one', 1)");
        insertUsers(2);
        jdbc.execute("ANALYZE users; ANALYZE app.order_lines; ANALYZE app.orders");

        Map<String, String> files = exportFiles("full", "edges", "app.orders", "app.order_lines", "users");

        assertThat(read(files.get("app.orders"))).isEqualTo(serialExport(TableName.parse("app.orders").orElseThrow()))
                .asString().isEqualTo("id,customer,total,status,placed_at\n");
        assertThat(read(files.get("app.order_lines")))
                .isEqualTo(serialExport(TableName.parse("app.order_lines").orElseThrow()));
        assertThat(read(files.get("public.users"))).isEqualTo(serialExport(TableName.USERS));
    }

    @Test
    void aFirstDeltaIsReadInChunksToo() throws Exception {
        insertUsers(3000);
        jdbc.update("UPDATE users SET is_deleted = true WHERE id % 3 = 0");
        jdbc.execute("ANALYZE users");
        double chunksBefore = chunksRead();

        Map<String, String> files = exportFiles("delta", "first-delta", "users");

        assertThat(chunksRead() - chunksBefore).isGreaterThanOrEqualTo(6);
        assertThat(read(files.get("public.users")))
                .isEqualTo(serialExport(ExportType.DELTA, TableName.USERS));
    }

    @Test
    void aLargeIncrementalWindowIsReadInChunksAsSerially() throws Exception {
        insertUsers(4000);
        jdbc.execute("ANALYZE users");
        exportFiles("full", "window", "users");
        String previous = jdbc.queryForObject("SELECT snapshot::text FROM watermarks WHERE consumer_id = 'window'",
                String.class);
        jdbc.update("UPDATE users SET name = name || ' changed' WHERE id % 3 = 0 OR id > 3500");
        jdbc.update("UPDATE users SET is_deleted = true WHERE id % 10 = 0");
        double chunksBefore = chunksRead();

        Map<String, String> files = exportFiles("incremental", "window", "users");

        assertThat(chunksRead() - chunksBefore).isGreaterThanOrEqualTo(6);
        assertThat(read(files.get("public.users"))).isEqualTo(serialExport(ExportType.INCREMENTAL, TableName.USERS,
                Optional.of(new Snapshot(previous))));
    }

    /**
     * Two writers commit updates and inserts all through the export. Each write is logged with its transaction
     * id, so afterwards the table can be put back to what the export's snapshot S saw; a serial export of that
     * is what the parallel export must have written.
     */
    @Test
    void writersCommittingDuringTheExportChangeNothingOfWhatItReads() throws Exception {
        jdbc.execute("CREATE TABLE IF NOT EXISTS public.parallel_writes (id BIGINT, status TEXT, op CHAR, xid XID8);"
                + "TRUNCATE public.parallel_writes");
        jdbc.update("INSERT INTO app.orders (id, customer, total, placed_at) SELECT g, 'customer ' || g, g, "
                + "'2026-01-01Z' FROM generate_series(1, 20000) g");
        jdbc.execute("ANALYZE app.orders");
        AtomicBoolean stop = new AtomicBoolean();
        String file;
        ExecutorService writers = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> running = List.of(writers.submit(() -> write(0, stop)), writers.submit(() -> write(1, stop)));
            awaitWrites(20);
            file = exportFiles("full", "busy", "app.orders").get("app.orders");
            awaitWrites(jdbc.queryForObject("SELECT count(*) FROM public.parallel_writes", Long.class) + 20);
            stop.set(true);
            for (Future<?> writer : running) {
                writer.get();
            }
        } finally {
            stop.set(true);
            writers.shutdown();
        }
        String s = jdbc.queryForObject("SELECT snapshot::text FROM watermarks WHERE consumer_id = 'busy'",
                String.class);
        assertThat(jdbc.queryForObject("SELECT count(*) FILTER (WHERE pg_visible_in_snapshot(xid, ?::pg_snapshot)) "
                + "|| '/' || count(*) FILTER (WHERE NOT pg_visible_in_snapshot(xid, ?::pg_snapshot)) "
                + "FROM public.parallel_writes", String.class, s, s)).as("writes before and after S")
                .doesNotStartWith("0/").doesNotEndWith("/0");

        jdbc.update("DELETE FROM app.orders WHERE id IN (SELECT id FROM public.parallel_writes WHERE op = 'I' "
                + "AND NOT pg_visible_in_snapshot(xid, ?::pg_snapshot))", s);
        jdbc.update("UPDATE app.orders o SET status = coalesce((SELECT w.status FROM public.parallel_writes w "
                + "WHERE w.id = o.id AND w.op = 'U' AND pg_visible_in_snapshot(w.xid, ?::pg_snapshot) "
                + "ORDER BY w.xid DESC LIMIT 1), 'new') WHERE o.id <= 20000", s);
        assertThat(read(file)).isEqualTo(serialExport(TableName.parse("app.orders").orElseThrow()));
    }

    /** Writer {@code k} owns every other order (odd ids or even ids), so its transactions, in xid order, are its commit order. */
    private void write(int k, AtomicBoolean stop) {
        try (Connection connection = openConnection(); Statement statement = connection.createStatement()) {
            connection.setAutoCommit(false);
            for (int n = 1; !stop.get(); n++) {
                long id = ThreadLocalRandom.current().nextLong(1, 10_001) * 2 - 1 + k;
                String status = "'w" + k + "-" + n + "'";
                statement.execute("UPDATE app.orders SET status = " + status + " WHERE id = " + id
                        + "; INSERT INTO public.parallel_writes VALUES (" + id + ", " + status
                        + ", 'U', pg_current_xact_id())");
                if (n % 5 == 0) {
                    long added = 100_000L * (k + 1) + n;
                    statement.execute("INSERT INTO app.orders (id, customer, total, placed_at) VALUES (" + added
                            + ", 'added', 1, '2026-01-01Z'); INSERT INTO public.parallel_writes VALUES (" + added
                            + ", 'new', 'I', pg_current_xact_id())");
                }
                connection.commit();
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private void awaitWrites(long count) {
        for (int i = 0; i < 2_000 && jdbc.queryForObject("SELECT count(*) FROM public.parallel_writes", Long.class)
                < count; i++) {
            sleep(5);
        }
    }

    /** Runs an export of {@code tables} to completion; its files by table. */
    private Map<String, String> exportFiles(String type, String consumer, String... tables) {
        return exportFiles(ExportFormat.CSV, type, consumer, tables);
    }

    private Map<String, String> exportFiles(ExportFormat format, String type, String consumer, String... tables) {
        StringBuilder query = new StringBuilder("?format=" + format.slug());
        for (String table : tables) {
            query.append("&table=").append(table);
        }
        Api.Response accepted = api.post("/exports/" + type + query, consumer);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        assertThat(awaitJob(accepted.field("jobId"))).as("%s", jobRow(accepted.field("jobId")))
                .isEqualTo("completed");
        Map<String, String> files = new LinkedHashMap<>();
        accepted.json().get("files").forEach(f -> files.put(f.get("table").asString(), f.get("filename").asString()));
        return files;
    }

    private byte[] serialExport(TableName table) throws Exception {
        return serialExport(ExportType.FULL, table);
    }

    private byte[] serialExport(ExportType type, TableName table) throws Exception {
        return serialExport(type, table, Optional.empty());
    }

    /** The same export on the serial path, EXPORT_PARALLELISM=1, over the same pool. */
    private byte[] serialExport(ExportType type, TableName table, Optional<Snapshot> since) throws Exception {
        return serialExport(ExportFormat.CSV, type, table, since);
    }

    private byte[] serialExport(ExportFormat format, ExportType type, TableName table, Optional<Snapshot> since)
            throws Exception {
        ParallelCopy never = new ParallelCopy(new CdcProperties.Parallel(1, 0, "", 0, 0), 1,
                new SimpleMeterRegistry());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SerialRead.read(new SnapshotReader(dataSource, capturedTables, never), type, format, table, since, out);
        return out.toByteArray();
    }

    private double chunksRead() {
        return registry.counter("cdc.export.chunks").count();
    }

    private static byte[] read(String filename) throws IOException {
        return Files.readAllBytes(OUTPUT_DIR.resolve(filename));
    }

    private static List<Path> chunkFiles() throws IOException {
        try (Stream<Path> files = Files.walk(CHUNK_DIR)) {
            return new ArrayList<>(files.filter(p -> !p.equals(CHUNK_DIR)).toList());
        }
    }

    private static Path createChunkDir() {
        try {
            return Files.createTempDirectory("cdc-test-chunks");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
