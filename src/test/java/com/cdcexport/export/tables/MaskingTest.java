package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import com.github.luben.zstd.ZstdInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;

/**
 * Per-consumer column masks: a keyed token (HMAC-SHA256 of the value's CSV text, keyed by MASKING_KEY) or NULL,
 * computed by PostgreSQL in the export's own statement, in every format and export type. The tokens are checked
 * against javax.crypto's HMAC, an implementation independent of the SQL that computes them. TRACE is asked of
 * PgJDBC, whose protocol trace would log every statement's text, so the test also shows the key never reaches the
 * log.
 */
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = {"cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN,
        "cdc.masking.key=" + MaskingTest.KEY, "logging.level.org.postgresql=trace",
        "cdc.parallel.parallelism=3", "cdc.parallel.readers=3", "cdc.parallel.min-rows=1000"})
class MaskingTest extends IntegrationTest {

    static final String KEY = "masking-test-key-9f3c1a7e5b2d4c6e8a0b1c3d5e7f";

    private static final Map<String, String> ADMIN = Map.of("Authorization", "Bearer " + TableAccessTest.ADMIN_TOKEN);
    private static final List<String> FORMATS = List.of("csv", "csv.gz", "csv.zst", "jsonl", "jsonl.gz",
            "jsonl.zst", "parquet");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** What an independent implementation computes from the key and the value's text. */
    static String hmac(String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(KEY.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Autowired
    private MeterRegistry registry;

    private Api.Response rule(String consumer, String table, String json) {
        return api.send("PUT", "/consumers/" + consumer + "/tables/" + table, ADMIN, json);
    }

    private void order(long id, String customer, String total) {
        jdbc.update("INSERT INTO app.orders (id, customer, total, status) VALUES (?, ?, " + total + ", 'paid')", id,
                customer);
    }

    @Test
    void tokensAreTheHmacOfTheValueEqualAcrossTablesExportsAndConsumers(CapturedOutput output) {
        insertUser("Ada", "ada@example.com");
        insertUser("Bob", "bob@example.com");
        order(1, "ada@example.com", "10.50");
        for (String consumer : List.of("masked-a", "masked-b")) {
            assertThat(rule(consumer, "public.users", "{\"masks\": {\"email\": \"hmac-sha256\", \"name\": \"null\"}}")
                    .status()).isEqualTo(200);
            assertThat(rule(consumer, "app.orders", "{\"columns\": [\"customer\", \"total\"], "
                    + "\"masks\": {\"customer\": \"hmac-sha256\"}}").status()).isEqualTo(200);
        }

        List<String[]> users = readCsv(runExport("full", "masked-a", "csv", "public.users").field("outputFilename"));
        List<String[]> orders = readCsv(runExport("full", "masked-a", "csv", "app.orders").field("outputFilename"));
        List<String[]> again = readCsv(runExport("full", "masked-a", "csv", "public.users").field("outputFilename"));
        List<String[]> otherConsumer = readCsv(runExport("full", "masked-b", "csv", "public.users")
                .field("outputFilename"));
        List<String[]> unmasked = readCsv(runExport("full", "plain", "csv", "public.users").field("outputFilename"));

        assertThat(column(users, "email")).containsExactly(hmac("ada@example.com"), hmac("bob@example.com"));
        assertThat(column(users, "email").get(0)).matches("[0-9a-f]{64}");
        assertThat(column(users, "name")).as("masked with null").containsExactly("", "");
        assertThat(column(users, "id")).as("the key as it is").containsExactly("1", "2");
        assertThat(column(orders, "customer")).as("the same value in another table").containsExactly(
                column(users, "email").get(0));
        assertThat(column(orders, "total")).containsExactly("10.50");
        assertThat(again).as("another export").containsExactlyElementsOf(users);
        assertThat(otherConsumer).as("another consumer").containsExactlyElementsOf(users);
        assertThat(column(unmasked, "email")).as("a consumer without masks").containsExactly("ada@example.com",
                "bob@example.com");
        assertThat(output.getAll()).as("the log, with TRACE asked of PgJDBC")
                .doesNotContain(KEY).doesNotContain(pad(0x36)).doesNotContain(pad(0x5c));
    }

    /** Connections reading key ranges of one export, each in its own session, compute the same tokens. */
    /**
     * The key's pads (from which the key follows) reach the export's transaction as bind parameters, never in a
     * statement's text: what pg_stat_activity shows, and what the server logs of a statement that fails or is
     * cancelled (log_min_error_statement), holds no secret.
     */
    @Test
    void noStatementTextOfAnExportCarriesTheKey() throws Exception {
        order(1, "ada@example.com", "10.50");
        assertThat(rule("masked", "app.orders", "{\"masks\": {\"customer\": \"hmac-sha256\"}}").status())
                .isEqualTo(200);
        byte[] block = new byte[64];
        byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(key, 0, block, 0, key.length);
        List<String> pads = new ArrayList<>();
        for (int pad : new int[] {0x36, 0x5c}) {
            byte[] padded = new byte[64];
            for (int i = 0; i < 64; i++) {
                padded[i] = (byte) (block[i] ^ pad);
            }
            pads.add(HexFormat.of().formatHex(padded));
        }
        String statement;
        String jobId;
        try (Connection locker = TestDatabase.connect(); Statement lock = locker.createStatement()) {
            locker.setAutoCommit(false);
            // The export's first statement that renders the masked column waits here, visible in pg_stat_activity.
            lock.execute("LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE");
            jobId = api.post("/exports/full?table=app.orders", "masked").field("jobId");
            statement = null;
            for (int i = 0; i < 200 && statement == null; i++) {
                statement = jdbc.query("SELECT query FROM pg_stat_activity WHERE query LIKE '%sha256(%'"
                        + " AND pid <> pg_backend_pid()", rs -> rs.next() ? rs.getString(1) : null);
                sleep(50);
            }
            locker.rollback();
        }
        assertThat(statement).as("the export's statement rendering the mask").isNotNull()
                .contains("current_setting('cdc.masking_inner_pad')");
        for (String pad : pads) {
            assertThat(statement.toLowerCase(java.util.Locale.ROOT)).doesNotContain(pad);
        }
        assertThat(awaitJob(jobId)).isEqualTo("completed");
    }

    @Test
    void aParallelExportMasksEveryChunkAlike() {
        insertUsers(3000);
        jdbc.execute("ANALYZE users");
        rule("chunked", "public.users", "{\"columns\": [\"email\"], \"masks\": {\"email\": \"hmac-sha256\"}}");
        double chunksBefore = registry.counter("cdc.export.chunks").count();

        List<String[]> rows = readCsv(runExport("full", "chunked", "csv", "public.users").field("outputFilename"));

        assertThat(registry.counter("cdc.export.chunks").count() - chunksBefore).as("read in chunks")
                .isGreaterThanOrEqualTo(3);
        assertThat(rows).hasSize(3001);
        for (String[] row : rows.subList(1, rows.size())) {
            assertThat(row[1]).as("user %s", row[0]).isEqualTo(hmac("user" + row[0] + "@example.com"));
        }
    }

    /** Every type's token is the HMAC of exactly the text an unmasked CSV export carries for it; NULL stays NULL. */
    @Test
    void everyTypesTokenIsTheHmacOfItsCsvText() {
        jdbc.update("""
                INSERT INTO app.all_types VALUES
                ('00000000-0000-0000-0000-000000000001', 12345678901234567890.123456789, 32767, 9223372036854775807,
                 1.5e300, true, 'text "q" \\ back ünï 日本', 'varchar, comma', 'ab', '{1,2,3}', '{a,b}',
                 '{"n": 1.5, "u": "日本"}', '\\x00ff10', '2026-02-03 04:05:06.789', '2026-02-03 04:05:06.789+02',
                 '2026-02-03', '1 year 2 mons 3 days 04:05:06', '23:59:59.999999'),
                ('00000000-0000-0000-0000-000000000002', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                ('00000000-0000-0000-0000-000000000003', -0.000001, -32768, -9223372036854775808, -0.0, false, '',
                 '', '', '{}', '{}', '[]', '\\x', 'infinity', '-infinity', '0001-01-01', '-1 days', '00:00:00')
                """);
        List<String> columns = List.of("num", "small", "big", "real8", "flag", "txt", "vc", "ch", "ints", "texts",
                "doc", "raw", "ts", "tstz", "day", "span", "clock");
        Map<String, String> masks = new LinkedHashMap<>();
        columns.forEach(c -> masks.put(c, "hmac-sha256"));
        assertThat(rule("typed", "app.all_types", JSON.writeValueAsString(Map.of("masks", masks))).status())
                .isEqualTo(200);

        List<String[]> plain = readCsv(runExport("full", "plain", "csv", "app.all_types").field("outputFilename"));
        List<String[]> masked = readCsv(runExport("full", "typed", "csv", "app.all_types").field("outputFilename"));

        for (String c : columns) {
            List<String> values = column(plain, c);
            assertThat(column(masked, c)).as(c).containsExactly(hmac(values.get(0)), "", hmac(values.get(2)));
        }
        assertThat(column(plain, "ch").get(0)).as("char(n) keeps its padding, as in the CSV").isEqualTo("ab ");
        assertThat(column(masked, "txt").get(2)).as("an empty string has a token").isEqualTo(hmac(""));
    }

    /** full, then incremental, then delta (with a hard-deleted row's last values), each in every format. */
    @Test
    void masksHoldInEveryFormatForFullIncrementalAndDelta() throws Exception {
        order(1, "Ada", "10.50");
        order(2, "Bob", "NULL");
        order(3, "Zoë \"Z\", ünï", "-1.00");
        for (String format : FORMATS) {
            assertThat(rule(consumer(format), "app.orders",
                    "{\"columns\": [\"customer\", \"total\"], \"masks\": {\"customer\": \"hmac-sha256\", "
                            + "\"total\": \"null\"}}").status()).isEqualTo(200);
        }

        assertEveryFormat("full", Map.of("1", List.of("Ada"), "2", List.of("Bob"), "3", List.of("Zoë \"Z\", ünï")));
        jdbc.update("UPDATE app.orders SET customer = 'Ada Lovelace' WHERE id = 1");
        order(4, "Dan", "4.00");
        assertEveryFormat("incremental", Map.of("1", List.of("Ada Lovelace"), "4", List.of("Dan")));
        jdbc.update("DELETE FROM app.orders WHERE id = 2");
        jdbc.update("UPDATE app.orders SET customer = 'Zed' WHERE id = 3");
        order(5, "Eve", "5.00");
        assertEveryFormat("delta", Map.of("2", List.of("Bob", "DELETE"), "3", List.of("Zed", "UPDATE"),
                "5", List.of("Eve", "INSERT")));
    }

    /** Through a row filter, a row that leaves it is a DELETE with the key alone: no token of what it hides. */
    @Test
    void aFilteredDeltaMasksWhatItShowsAndSendsNoTokenOfWhatItHides() {
        order(1, "Ada", "10.00");
        order(2, "Bob", "20.00");
        rule("filtered", "app.orders", "{\"columns\": [\"customer\"], \"masks\": {\"customer\": \"hmac-sha256\"}, "
                + "\"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"50\"}]}");
        runExport("delta", "filtered", "csv", "app.orders");
        jdbc.update("UPDATE app.orders SET customer = 'Ada L', total = 11 WHERE id = 1");
        jdbc.update("UPDATE app.orders SET customer = 'Bob B', total = 999 WHERE id = 2");

        List<String[]> delta = readCsv(runExport("delta", "filtered", "csv", "app.orders").field("outputFilename"));

        assertThat(delta.stream().skip(1).map(r -> String.join(" ", r))).containsExactly(
                "UPDATE 1 " + hmac("Ada L"), "DELETE 2 ");
    }

    @Test
    void theManifestSaysWhichColumnsAreMaskedAndHow() {
        order(1, "Ada", "1.00");
        rule("manifested", "app.orders", "{\"masks\": {\"customer\": \"hmac-sha256\", \"placed_at\": \"null\"}}");

        Api.Response accepted = runExport("delta", "manifested", "parquet", "app.orders");
        JsonNode manifest = api.get("/exports/jobs/" + accepted.field("jobId") + "/manifest", "manifested").json();

        List<String> columns = new ArrayList<>();
        manifest.get("files").get(0).get("columns").forEach(c -> columns.add(c.get("name").asString() + " "
                + c.get("type").asString() + (c.has("mask") ? " " + c.get("mask").asString() : "")));
        assertThat(columns).containsExactly("operation text", "id bigint", "customer text hmac-sha256",
                "total numeric(12,2)", "status text", "placed_at text null");
    }

    @Test
    void aMaskedKeyAnUnshownColumnOrAnUnknownMaskIsRefused() {
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("app.orders", "{\"masks\": {\"id\": \"hmac-sha256\"}}");
        refused.put("app.order_lines", "{\"masks\": {\"line_no\": \"null\"}}");
        Map<String, String> bad = Map.of(
                "{\"columns\": [\"total\"], \"masks\": {\"customer\": \"null\"}}", "not among the rule's columns",
                "{\"masks\": {\"customer\": \"md5\"}}", "must be one of hmac-sha256, null",
                "{\"masks\": {\"customer\": null}}", "must be one of hmac-sha256, null",
                "{\"masks\": {\"no_such\": \"null\"}}", "has no column 'no_such'");
        for (Map.Entry<String, String> keyRule : refused.entrySet()) {
            Api.Response response = rule("analytics", keyRule.getKey(), keyRule.getValue());
            assertThat(response.status()).as(keyRule.getValue()).isEqualTo(400);
            assertThat(response.header("Content-Type")).startsWith("application/problem+json");
            assertThat(response.field("detail")).contains("primary key").contains("cannot be masked");
        }
        for (Map.Entry<String, String> body : bad.entrySet()) {
            Api.Response response = rule("analytics", "app.orders", body.getKey());
            assertThat(response.status()).as(body.getKey()).isEqualTo(400);
            assertThat(response.field("detail")).as(body.getKey()).contains(body.getValue());
        }
        assertThat(api.send("GET", "/consumers/analytics/tables", ADMIN, null).body()).isEqualTo("[]");

        rule("analytics", "app.orders", "{\"columns\": [\"customer\"], \"masks\": {\"customer\": \"null\"}}");
        rule("analytics", "app.order_lines", "{\"columns\": [\"sku\"]}");
        JsonNode rules = api.send("GET", "/consumers/analytics/tables", ADMIN, null).json();
        assertThat(rules.get(0).get("table").asString()).isEqualTo("app.order_lines");
        assertThat(rules.get(0).has("masks")).as("a rule without masks looks as before").isFalse();
        assertThat(rules.get(1).get("masks").toString()).isEqualTo("{\"customer\":\"null\"}");
    }

    /** A key that became the key after the rule was set still never reaches the file masked nor unmasked. */
    @Test
    void aColumnThatBecameTheKeyFailsTheExportInsteadOfLeavingItMasked() {
        order(1, "Ada", "1.00");
        jdbc.update("INSERT INTO consumer_tables (consumer_id, table_name, masks, updated_at) VALUES "
                + "('sneaky', 'app.orders', '{\"id\": \"hmac-sha256\"}', now())");

        Api.Response accepted = api.post("/exports/full?table=app.orders", "sneaky");
        assertThat(awaitJob(accepted.field("jobId"))).isEqualTo("failed");

        assertThat((String) jobRow(accepted.field("jobId")).get("error")).contains("masks its primary key column 'id'")
                .doesNotContain(pad(0x36));
    }

    private void assertEveryFormat(String type, Map<String, List<String>> expected) throws Exception {
        for (String format : FORMATS) {
            Path file = OUTPUT_DIR.resolve(runExport(type, consumer(format), format, "app.orders")
                    .field("outputFilename"));
            Map<String, Map<String, String>> rows = rows(file, format, type);
            String where = type + " " + format;
            assertThat(rows.keySet()).as(where).containsExactlyInAnyOrderElementsOf(expected.keySet());
            expected.forEach((id, values) -> {
                Map<String, String> row = rows.get(id);
                assertThat(row.get("customer")).as(where + " id " + id).isEqualTo(hmac(values.get(0)));
                assertThat(row.get("total")).as(where + " id " + id).isNull();
                assertThat(row).as(where).doesNotContainKeys("status", "placed_at");
                if (type.equals("delta")) {
                    assertThat(row.get("operation")).as(where + " id " + id).isEqualTo(values.get(1));
                }
            });
        }
    }

    /** The rows of a file by id, each value as text (NULL as null), read by each format's own reader. */
    private static Map<String, Map<String, String>> rows(Path file, String format, String type) throws Exception {
        Map<String, Map<String, String>> rows = new TreeMap<>();
        if (format.startsWith("csv")) {
            Path csv = Files.createTempFile("masked", ".csv");
            Files.write(csv, content(file, format));
            List<String[]> lines = readCsv(csv);
            List<String> raw = Files.readAllLines(csv, StandardCharsets.UTF_8);
            for (int r = 1; r < lines.size(); r++) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int c = 0; c < lines.get(0).length; c++) {
                    row.put(lines.get(0)[c], lines.get(r)[c]);
                }
                // NULL is the unquoted empty field; only total (the last column) is ever NULL here
                assertThat(raw.get(r)).endsWith(",");
                row.put("total", null);
                rows.put(row.get("id"), row);
            }
        } else if (format.startsWith("jsonl")) {
            for (String line : new String(content(file, format), StandardCharsets.UTF_8).split("\n")) {
                JsonNode json = JSON.readTree(line);
                Map<String, String> row = new LinkedHashMap<>();
                json.properties().forEach(e -> {
                    if (e.getKey().equals("customer")) {
                        assertThat(e.getValue().isString()).as("a token is a JSON string").isTrue();
                    }
                    row.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asString());
                });
                rows.put(row.get("id"), row);
            }
        } else {
            try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
                 Statement statement = duck.createStatement()) {
                String read = "read_parquet('" + file.toString().replace("'", "''") + "')";
                assertThat(describe(statement, read)).as(type + " parquet types").isEqualTo(
                        (type.equals("delta") ? "operation VARCHAR, " : "")
                                + "id BIGINT, customer VARCHAR, total VARCHAR");
                try (ResultSet rs = statement.executeQuery("SELECT name, repetition_type FROM parquet_schema('"
                        + file.toString().replace("'", "''") + "') WHERE name IN ('customer', 'total') ORDER BY name")) {
                    rs.next();
                    assertThat(rs.getString(2)).as("customer NOT NULL").isEqualTo(
                            type.equals("delta") ? "OPTIONAL" : "REQUIRED");
                    rs.next();
                    assertThat(rs.getString(2)).as("nulled total").isEqualTo("OPTIONAL");
                }
                try (ResultSet rs = statement.executeQuery("SELECT * FROM " + read)) {
                    while (rs.next()) {
                        Map<String, String> row = new LinkedHashMap<>();
                        for (int c = 1; c <= rs.getMetaData().getColumnCount(); c++) {
                            row.put(rs.getMetaData().getColumnName(c), rs.getString(c));
                        }
                        rows.put(row.get("id"), row);
                    }
                }
            }
        }
        return rows;
    }

    private static String describe(Statement statement, String read) throws SQLException {
        List<String> described = new ArrayList<>();
        try (ResultSet rs = statement.executeQuery("DESCRIBE SELECT * FROM " + read)) {
            while (rs.next()) {
                described.add(rs.getString("column_name") + " " + rs.getString("column_type"));
            }
        }
        return String.join(", ", described);
    }

    private static byte[] content(Path file, String format) throws IOException {
        try (InputStream in = format.endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(file))
                : format.endsWith(".zst") ? new ZstdInputStream(Files.newInputStream(file))
                : Files.newInputStream(file)) {
            return in.readAllBytes();
        }
    }

    private static String consumer(String format) {
        return "mask-" + format.replace('.', '-');
    }

    /** The key's inner (0x36) or outer (0x5c) pad in hex, as the export's statement carries it. */
    static String pad(int xor) {
        byte[] block = new byte[64];
        byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(key, 0, block, 0, key.length);
        for (int i = 0; i < block.length; i++) {
            block[i] = (byte) (block[i] ^ xor);
        }
        return HexFormat.of().formatHex(block);
    }
}
