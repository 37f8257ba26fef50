package com.cdcexport.soak;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.support.Api;
import com.cdcexport.support.IcebergTables;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.StandbyPair;
import com.cdcexport.support.TestDatabase;

/**
 * The delivery guarantee, measured: writers change the table in every way (late commits, rollbacks, writes that
 * skip updated_at, soft and hard deletes) while consumers export at random moments and the service is killed or
 * stopped and restarted. Afterwards every consumer's files, replayed in order over its first full export, must
 * rebuild the table exactly. Two more tables (orders and their lines) change in transactions that span both, and
 * every export reads all three in one snapshot: no export may show one half of such a transaction. One more consumer
 * takes its deltas as Iceberg tables (format=iceberg): afterwards its tables must be the live tables exactly, and
 * each table's history must hold each of its exports once, in order.
 * Runs {@code soak.seconds} (45 by default; {@code -Dsoak.seconds=600} for the long run).
 */
class SoakIT {

    private static final int SECONDS = Integer.getInteger("soak.seconds",
            Integer.parseInt(System.getenv().getOrDefault("SOAK_SECONDS", "45")));
    private static final int INITIAL_USERS = 3_000;
    /**
     * CAPTURE_MODE of the service under test: the build runs the soak once with triggers and once decoding the WAL
     * (-Dsoak.capture=logical, on a server with wal_level=logical: -Dtest.database.logical=true).
     */
    private static final String CAPTURE = System.getProperty("soak.capture", "trigger");
    /**
     * Every export read on a hot standby of the test database, restarted now and then mid-export (run by hand:
     * -Dsoak.standby=true -Dtest.database.standby=true; see docs/testing.md).
     */
    private static final boolean STANDBY = Boolean.getBoolean("soak.standby");
    private static final JdbcTemplate jdbc = TestDatabase.jdbc();
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Every export reads the three tables in one snapshot. */
    private static final String TABLES = "?table=users&table=app.orders&table=app.order_lines";
    /** A delta consumer that sees each table through a row filter. */
    private static final String FILTERED = "delta-filtered";
    private static final Map<String, String> FILTERS = Map.of(
            "public.users", "[{\"column\": \"name\", \"op\": \"<\", \"value\": \"M\"}]",
            "app.orders", "[{\"column\": \"status\", \"op\": \"<\", \"value\": \"8\"}]",
            "app.order_lines", "[{\"column\": \"sku\", \"op\": \"<\", \"value\": \"8\"}]");
    /** A delta consumer whose exports are applied to Iceberg tables, one per table, in the namespace of its id. */
    private static final String ICEBERG = "iceberg-1";

    /** Where the Iceberg consumer's tables go: apart from the files every other consumer replays. */
    @TempDir
    Path warehouse;

    @TempDir
    Path output;

    @Test
    void replayingEveryConsumersFilesRebuildsTheTableExactly() throws Exception {
        jdbc.execute(TestDatabase.RESET_SQL);
        jdbc.update("INSERT INTO users (name, email) SELECT 'User ' || g, 'user' || g || '@example.com' "
                + "FROM generate_series(1, ?) AS g", INITIAL_USERS);

        List<SoakConsumer> consumers = List.of(
                new SoakConsumer("delta-1", "delta"), new SoakConsumer("delta-2", "delta"),
                new SoakConsumer("delta-3", "delta"), new SoakConsumer("incremental-1", "incremental"),
                new SoakConsumer("incremental-2", "incremental"), new SoakConsumer(FILTERED, "delta"),
                new SoakConsumer(ICEBERG, "delta", "iceberg"));
        // Rows enter and leave this consumer's filters all the time: names are rewritten at random, and an order and
        // its lines get a random tag (status, sku) with every change. Its replay must be the filtered tables.
        FILTERS.forEach((table, filter) -> jdbc.update("INSERT INTO consumer_tables (consumer_id, table_name, row_filter,"
                + " updated_at) VALUES (?, ?, CAST(? AS jsonb), now())", FILTERED, table, filter));
        List<Writer> writers = List.of(new Writer(INITIAL_USERS), new Writer(INITIAL_USERS), new Writer(INITIAL_USERS));

        // Two readers per export, and tables of a hundred rows or more read in key-range chunks: every full export
        // and the larger change windows take the parallel path, the small windows and deltas the serial one.
        Map<String, String> environment = new HashMap<>(Map.of("EXPORT_OUTPUT_DIR", output.toString(),
                "INSTANCE_ID", "soak", "EXPORT_SHUTDOWN_GRACE", "20s", "EXPORT_TABLES", TestDatabase.EXPORT_TABLES,
                "CAPTURE_MODE", CAPTURE, "EXPORT_PARALLELISM", "2", "EXPORT_PARALLEL_MIN_ROWS", "100",
                "ICEBERG_WAREHOUSE", warehouse.toString()));
        if (STANDBY) {
            environment.put("DATABASE_READ_URL", StandbyPair.standbyUrl());
        }
        try (Chaos chaos = new Chaos(environment)) {
            // The clock starts once the service is up: start-up time must not eat the run.
            long deadline = System.nanoTime() + Duration.ofSeconds(SECONDS).toNanos();
            List<Thread> threads = new ArrayList<>();
            writers.forEach(w -> threads.add(start("writer", () -> w.run(deadline))));
            consumers.forEach(c -> threads.add(start(c.id, () -> c.run(chaos, deadline))));
            Thread chaosThread = start("chaos", () -> chaos.run(deadline));
            if (STANDBY) {
                threads.add(start("standby restarts", () -> restartStandbyNowAndThen(deadline)));
            }
            for (Thread thread : threads) {
                thread.join();
            }
            chaosThread.join();
            for (Writer writer : writers) {
                assertThat(writer.failure).as("writer failed").isNull();
            }
            // Writers have stopped: one more completed export per consumer must carry every remaining change.
            for (SoakConsumer consumer : consumers) {
                consumer.exportUntilCompleted(chaos, consumer.type);
            }
            chaos.stop();

            Totals totals = new Totals();
            totals.changes = writers.stream().mapToLong(w -> w.changes).sum();
            totals.restarts = chaos.restarts;
            totals.kills = chaos.kills;
            for (SoakConsumer consumer : consumers) {
                if (consumer.format.equals("iceberg")) {
                    Replay tables = compareIcebergTables(consumer);
                    System.out.printf(Locale.ROOT, "SOAK consumer=%s type=%s format=iceberg exports=%d rowsExported=%d "
                                    + "lost=%d duplicated=%d phantom=%d misapplied=%d%n", consumer.id, consumer.type,
                            tables.files, tables.rows, tables.lost, tables.duplicated, tables.phantom,
                            tables.misapplied);
                    totals.add(tables);
                    assertThat(tables.files).as("%s completed change exports", consumer.id).isGreaterThanOrEqualTo(3);
                    continue;
                }
                boolean filtered = consumer.id.equals(FILTERED);
                Map<Long, String> table = liveRows(filtered ? " AND name < 'M'" : "");
                Map<String, String> orders = appRows("SELECT id::text, customer || ',' || status FROM app.orders"
                        + (filtered ? " WHERE status < '8'" : ""));
                Map<String, String> lines = appRows("SELECT order_id || '/' || line_no, sku || ',' || qty"
                        + " FROM app.order_lines" + (filtered ? " WHERE sku < '8'" : ""));
                Replay replay = replay(consumer);
                replay.compare(table, consumer.type.equals("delta"));
                TableReplay orderReplay = replayApp(consumer, "app.orders", 1, orders);
                TableReplay lineReplay = replayApp(consumer, "app.order_lines", 2, lines);
                replay.lost += orderReplay.lost + lineReplay.lost;
                replay.duplicated += orderReplay.duplicated + lineReplay.duplicated;
                replay.phantom += orderReplay.phantom + lineReplay.phantom;
                replay.unheld += orderReplay.unheld + lineReplay.unheld;
                totals.torn += torn(consumer);
                System.out.printf(Locale.ROOT, "SOAK consumer=%s type=%s exports=%d rowsExported=%d lost=%d "
                                + "duplicated=%d phantom=%d unheld=%d%n", consumer.id, consumer.type, replay.files,
                        replay.rows, replay.lost, replay.duplicated, replay.phantom, replay.unheld);
                totals.add(replay);
                assertThat(replay.files).as("%s completed change exports", consumer.id).isGreaterThanOrEqualTo(3);
            }
            if (CAPTURE.equals("logical")) {
                assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cdc\\_capture\\_%'",
                        Long.class)).as("capture triggers left while the WAL is decoded").isZero();
            }
            System.out.printf(Locale.ROOT, "SOAK capture=%s consumers=%d seconds=%d changes=%d restarts=%d kills=%d "
                            + "exports=%d rowsExported=%d lost=%d duplicated=%d phantom=%d torn=%d unheld=%d "
                            + "misapplied=%d%n",
                    CAPTURE, consumers.size(), SECONDS, totals.changes, totals.restarts, totals.kills, totals.files,
                    totals.rows, totals.lost, totals.duplicated, totals.phantom, totals.torn, totals.unheld,
                    totals.misapplied);

            if (totals.lost + totals.duplicated + totals.phantom + totals.torn + totals.unheld + totals.misapplied
                    > 0) {
                keepEvidence();
            }
            assertThat(totals.changes).isPositive();
            System.out.printf(Locale.ROOT, "SOAK key-range chunks read in parallel: %d%n", chaos.chunksRead);
            if (STANDBY) {
                long onStandby = jdbc.queryForObject("SELECT count(*) FROM export_jobs WHERE status = 'completed'",
                        Long.class);
                System.out.printf(Locale.ROOT, "SOAK standby restarts=%d completed exports=%d%n", standbyRestarts,
                        onStandby);
                assertThat(standbyRestarts).as("the standby was restarted mid-run").isPositive();
            }
            assertThat(chaos.chunksRead).as("exports read in parallel chunks").isPositive();
            if (SECONDS >= 30) {
                assertThat(totals.restarts).as("the service was restarted at least once").isPositive();
            }
            assertThat(totals.lost).as("lost").isZero();
            assertThat(totals.duplicated).as("duplicated").isZero();
            assertThat(totals.phantom).as("phantom").isZero();
            assertThat(totals.torn).as("exports showing half of a two-table transaction").isZero();
            assertThat(totals.unheld).as("a filtered consumer's DELETE of a row it did not hold, INSERT of one it "
                    + "held or UPDATE of one it did not").isZero();
            assertThat(totals.misapplied).as("Iceberg snapshots not made by exactly the next completed export "
                    + "(a window applied twice or skipped)").isZero();
            assertOnlyCommittedFilesExist();
        }
    }

    /** The standby goes away mid-export every few seconds: reads there are lost and must start again. */
    private static void restartStandbyNowAndThen(long deadline) {
        while (System.nanoTime() < deadline - Duration.ofSeconds(8).toNanos()) {
            IntegrationTest.sleep(7_000);
            StandbyPair.restartStandby();
            standbyRestarts++;
        }
    }

    private static volatile int standbyRestarts;

    private static Thread start(String name, Runnable work) {
        Thread thread = new Thread(work, name);
        thread.start();
        return thread;
    }

    /**
     * A fault the soak finds is rare and timing-bound: the consumers' files, the job table, the watermarks and the
     * application tables' change log go to a directory under target/ that outlives the test.
     */
    private void keepEvidence() throws IOException {
        Path kept = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "soak-evidence-");
        try (Stream<Path> files = Files.list(output)) {
            for (Path file : files.toList()) {
                Files.copy(file, kept.resolve(file.getFileName()));
            }
        }
        Files.write(kept.resolve("jobs.txt"), jdbc.queryForList("SELECT * FROM export_jobs ORDER BY created_at")
                .stream().map(Object::toString).toList());
        Files.write(kept.resolve("watermarks.txt"), jdbc.queryForList("SELECT * FROM watermarks").stream()
                .map(Object::toString).toList());
        Files.write(kept.resolve("change_log.txt"), jdbc.queryForList("SELECT table_oid::regclass AS t, key, op, "
                + "change_xid, seq, changed_at FROM change_log WHERE table_oid <> 'public.users'::regclass "
                + "ORDER BY change_xid, seq").stream().map(Object::toString).toList());
        System.out.println("SOAK evidence kept in " + kept.toAbsolutePath());
    }

    /** Rebuilds what a consumer holds from its completed files, oldest first. */
    private Replay replay(SoakConsumer consumer) {
        List<Map<String, Object>> jobs = jdbc.queryForList("SELECT export_type, output_filename FROM export_jobs "
                + "WHERE consumer_id = ? AND status = 'completed' ORDER BY finished_at", consumer.id);
        assertThat(jobs).isNotEmpty();
        assertThat(jobs.get(0).get("export_type")).as("%s starts with a full export", consumer.id).isEqualTo("full");
        Replay replay = new Replay(consumer.id.equals(FILTERED));
        for (Map<String, Object> job : jobs) {
            List<String[]> rows = IntegrationTest.readCsv(output.resolve((String) job.get("output_filename")));
            boolean delta = job.get("export_type").equals("delta");
            replay.apply(rows.subList(1, rows.size()), delta, !job.get("export_type").equals("full"));
        }
        return replay;
    }

    private List<Map<String, Object>> completedJobs(SoakConsumer consumer) {
        return jdbc.queryForList("SELECT id, attempts, snapshot, export_type, files::text AS files FROM export_jobs "
                + "WHERE consumer_id = ? AND status = 'completed' ORDER BY finished_at", consumer.id);
    }

    /** The file of {@code table} in a job's files JSON. */
    private static String fileOf(Map<String, Object> job, String table) {
        JsonNode files = JSON.readTree((String) job.get("files"));
        for (JsonNode file : files) {
            if (file.get("table").asString().equals(table)) {
                return file.get("filename").asString();
            }
        }
        throw new AssertionError("no file of " + table + " in " + job);
    }

    /** Replays one application table (key in the first {@code keyColumns} columns) and compares it with the table. */
    private TableReplay replayApp(SoakConsumer consumer, String table, int keyColumns, Map<String, String> actual) {
        TableReplay replay = new TableReplay();
        for (Map<String, Object> job : completedJobs(consumer)) {
            boolean delta = job.get("export_type").equals("delta");
            List<String[]> rows = IntegrationTest.readCsv(output.resolve(fileOf(job, table)));
            List<String> header = List.of(rows.get(0));
            for (String[] r : rows.subList(1, rows.size())) {
                int o = delta ? 1 : 0;
                String key = keyColumns == 1 ? r[o] : r[o] + "/" + r[o + 1];
                String values = table.equals("app.orders")
                        ? r[header.indexOf("customer")] + "," + r[header.indexOf("status")]
                        : r[header.indexOf("sku")] + "," + r[header.indexOf("qty")];
                if (delta && consumer.id.equals(FILTERED) && !Replay.consistent(r[0], replay.state.containsKey(key))) {
                    replay.unheld++;
                }
                if (delta && r[0].equals("DELETE")) {
                    replay.state.remove(key);
                } else {
                    if (!replay.seen.add(key + "=" + values) && !job.get("export_type").equals("full")) {
                        replay.duplicated++;
                    }
                    replay.state.put(key, values);
                }
            }
        }
        actual.forEach((key, values) -> {
            if (!values.equals(replay.state.get(key))) {
                replay.lost++;
            }
        });
        if (consumer.type.equals("delta")) {
            replay.phantom = replay.state.keySet().stream().filter(k -> !actual.containsKey(k)).count();
        }
        return replay;
    }

    /** The soak's tables as the Iceberg consumer sees them: all of their rows but users marked deleted. */
    private static final Map<String, String> ICEBERG_TABLES = Map.of("users", "users WHERE NOT is_deleted",
            "app_orders", "app.orders", "app_order_lines", "app.order_lines");

    /**
     * The Iceberg consumer's tables, read by Iceberg's catalog and reader, against the live tables (every column;
     * users marked deleted are not the consumer's, as in a full export), counted like a replay. Misapplied counts
     * the snapshots of a table's history that are not exactly one completed export applied on top of the one before
     * it: another job's attempt than the one that completed it, a job twice, or a start other than the end of the
     * consumer's export before it (a window applied twice or skipped). An export whose window held no change of a
     * table makes no snapshot of it.
     */
    private Replay compareIcebergTables(SoakConsumer consumer) {
        Replay result = new Replay(false);
        List<Map<String, Object>> jobs = completedJobs(consumer);
        result.files = jobs.stream().filter(j -> !j.get("export_type").equals("full")).count();
        result.rows = jdbc.queryForObject("SELECT coalesce(sum(rows_exported), 0) FROM export_jobs WHERE consumer_id "
                + "= ? AND status = 'completed'", Long.class, consumer.id);
        Map<String, String> exports = new HashMap<>();
        String previous = "none";
        for (Map<String, Object> job : jobs) {
            exports.put(job.get("id").toString(), "attempt " + job.get("attempts") + " from " + previous + " to "
                    + job.get("snapshot"));
            previous = (String) job.get("snapshot");
        }
        ICEBERG_TABLES.forEach((name, live) -> {
            Table table = IcebergTables.load(warehouse, consumer.id + "." + name)
                    .orElseThrow(() -> new AssertionError("no Iceberg table " + consumer.id + "." + name));
            IcebergTables.Difference difference = IcebergTables.compare(IcebergTables.read(table),
                    IcebergTables.query(jdbc, table, live));
            if (!difference.none()) {
                System.out.printf(Locale.ROOT, "SOAK iceberg table=%s.%s %s%n", consumer.id, name, difference);
            }
            result.lost += difference.lost();
            result.duplicated += difference.duplicated();
            result.phantom += difference.phantom();
            Set<String> applied = new HashSet<>();
            for (Snapshot snapshot : IcebergTables.lineage(table)) {
                Map<String, String> summary = snapshot.summary();
                String job = summary.get("cdc.job-id");
                String made = "attempt " + summary.get("cdc.attempt") + " from " + summary.getOrDefault(
                        "cdc.previous-snapshot", "none") + " to " + summary.get("cdc.snapshot");
                if (!applied.add(job) || !made.equals(exports.get(job))) {
                    result.misapplied++;
                    System.out.printf(Locale.ROOT, "SOAK iceberg table=%s.%s snapshot of job %s: %s; the job: %s%n",
                            consumer.id, name, job, made, exports.get(job));
                }
            }
        });
        return result;
    }

    /** Exports in which a line carries a transaction's tag while its order (in the same export) does not. */
    private long torn(SoakConsumer consumer) {
        long torn = 0;
        for (Map<String, Object> job : completedJobs(consumer)) {
            boolean delta = job.get("export_type").equals("delta");
            int o = delta ? 1 : 0;
            Map<String, String> orderTags = new HashMap<>();
            List<String[]> orders = IntegrationTest.readCsv(output.resolve(fileOf(job, "app.orders")));
            for (String[] r : orders.subList(1, orders.size())) {
                orderTags.put(r[o], delta && r[0].equals("DELETE") ? "deleted" : r[o + 3]);
            }
            List<String[]> lines = IntegrationTest.readCsv(output.resolve(fileOf(job, "app.order_lines")));
            for (String[] r : lines.subList(1, lines.size())) {
                String expected = delta && r[0].equals("DELETE") ? "deleted" : r[o + 2];
                if (!expected.equals(orderTags.get(r[o]))) {
                    torn++;
                    System.out.printf(Locale.ROOT, "SOAK torn consumer=%s job=%s type=%s attempts=%s snapshot=%s "
                            + "files=%s line=%s order=%s%n", consumer.id, job.get("id"), job.get("export_type"),
                            job.get("attempts"), job.get("snapshot"), job.get("files"), String.join(",", r),
                            orderTags.get(r[o]));
                }
            }
        }
        return torn;
    }

    private static Map<String, String> appRows(String sql) {
        return jdbc.query(sql, rs -> {
            Map<String, String> rows = new HashMap<>();
            while (rs.next()) {
                rows.put(rs.getString(1), rs.getString(2));
            }
            return rows;
        });
    }

    /** What one consumer holds of an application table. */
    private static final class TableReplay {
        final Map<String, String> state = new HashMap<>();
        final Set<String> seen = new HashSet<>();
        long lost;
        long duplicated;
        long phantom;
        long unheld;
    }

    /** The table's live rows, rendered exactly as the CSV renders them. */
    private static Map<Long, String> liveRows(String filter) {
        return jdbc.query("SELECT id, name, email, "
                        + "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                        + "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                        + "is_deleted::text FROM users WHERE NOT is_deleted" + filter,
                rs -> {
                    Map<Long, String> rows = new HashMap<>();
                    while (rs.next()) {
                        rows.put(rs.getLong(1), String.join("\u0001", rs.getString(2), rs.getString(3),
                                rs.getString(4), rs.getString(5), rs.getString(6)));
                    }
                    return rows;
                });
    }

    private void assertOnlyCommittedFilesExist() throws IOException {
        // An Iceberg export's "files" name its tables, which are elsewhere (ICEBERG_WAREHOUSE).
        Set<String> committed = Set.copyOf(jdbc.queryForList("SELECT f->>'filename' FROM export_jobs,"
                + " jsonb_array_elements(files) f WHERE status = 'completed' AND format <> 'iceberg' UNION ALL"
                + " SELECT manifest_filename FROM export_jobs WHERE status = 'completed' AND manifest_filename IS NOT"
                + " NULL", String.class));
        try (Stream<Path> files = Files.list(output)) {
            Set<String> present = files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
            assertThat(present).as("no temporary files").noneMatch(n -> n.endsWith(".part"));
            assertThat(present).as("every file belongs to a committed export").isEqualTo(committed);
        }
    }

    /** A consumer that keeps asking for its kind of change export; 409, 429, 503 and a service that is down are normal. */
    private static final class SoakConsumer {

        final String id;
        final String type;
        /** csv (the default), or iceberg: exports applied to Iceberg tables instead of files to replay. */
        final String format;

        SoakConsumer(String id, String type) {
            this(id, type, "csv");
        }

        SoakConsumer(String id, String type, String format) {
            this.id = id;
            this.type = type;
            this.format = format;
        }

        void run(Chaos chaos, long deadline) {
            exportUntilCompleted(chaos, "full");
            while (System.nanoTime() < deadline) {
                IntegrationTest.sleep(ThreadLocalRandom.current().nextInt(50, 500));
                request(chaos, type);
            }
        }

        void exportUntilCompleted(Chaos chaos, String exportType) {
            for (int attempt = 0; attempt < 600; attempt++) {
                Api.Response response = request(chaos, exportType);
                if (response != null && response.status() == 202) {
                    String status = TestDatabase.awaitJob(response.field("jobId"));
                    if (status.equals("completed")) {
                        return;
                    }
                } else {
                    IntegrationTest.sleep(200);
                }
            }
            throw new AssertionError(id + " could not complete a " + exportType + " export");
        }

        private Api.Response request(Chaos chaos, String exportType) {
            try {
                return chaos.api().post("/exports/" + exportType + TABLES + (format.equals("csv") ? ""
                        : "&format=" + format), id);
            } catch (RuntimeException serviceDown) {
                return null;
            }
        }
    }

    /** What one consumer holds after applying its files, and what went wrong on the way. */
    private static final class Replay {

        final Map<Long, String> state = new HashMap<>();
        final Set<String> seen = new HashSet<>();
        /** A consumer with a row filter: its deltas must agree with what it holds, row by row. */
        final boolean filtered;
        long files;
        long rows;
        long lost;
        long duplicated;
        long phantom;
        long unheld;
        /** Iceberg snapshots that are not one completed export applied once, in order (Iceberg consumers only). */
        long misapplied;

        Replay(boolean filtered) {
            this.filtered = filtered;
        }

        /**
         * A filtered consumer gets DELETE only for a row it holds, INSERT only for one it does not, UPDATE only for
         * one it does: a row never inside its filter reaches it in no form.
         */
        static boolean consistent(String operation, boolean held) {
            return operation.equals("INSERT") ? !held : held;
        }

        void apply(List<String[]> records, boolean delta, boolean changeExport) {
            if (changeExport) {
                files++;
            }
            Set<String> inThisFile = new HashSet<>();
            for (String[] r : records) {
                int o = delta ? 1 : 0;
                long id = Long.parseLong(r[o]);
                String values = String.join("\u0001", r[o + 1], r[o + 2], r[o + 3], r[o + 4], r[o + 5]);
                String change = id + "\u0001" + values;
                // The same row state in two files means a change was sent twice.
                if (inThisFile.add(change) && !seen.add(change)) {
                    duplicated++;
                }
                rows++;
                if (delta && filtered && !consistent(r[0], state.containsKey(id))) {
                    unheld++;
                }
                if (delta && r[0].equals("DELETE")) {
                    state.remove(id);
                } else {
                    state.put(id, values);
                }
            }
        }

        void compare(Map<Long, String> table, boolean checkPhantoms) {
            table.forEach((id, values) -> {
                if (!values.equals(state.get(id))) {
                    lost++;
                }
            });
            if (checkPhantoms) {
                phantom = state.keySet().stream().filter(id -> !table.containsKey(id)).count();
            }
        }
    }

    private static final class Totals {
        long changes;
        int restarts;
        int kills;
        long files;
        long rows;
        long lost;
        long duplicated;
        long phantom;
        long torn;
        long unheld;
        long misapplied;

        void add(Replay replay) {
            files += replay.files;
            rows += replay.rows;
            lost += replay.lost;
            duplicated += replay.duplicated;
            phantom += replay.phantom;
            unheld += replay.unheld;
            misapplied += replay.misapplied;
        }
    }
}
