package com.cdcexport.export.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

import com.github.luben.zstd.ZstdInputStream;
import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.cdcexport.support.Api;
import com.cdcexport.export.tables.TableAccessTest;
import com.cdcexport.support.IntegrationTest;

/**
 * Every format of every export type, read back by real readers: csv by opencsv (PostgreSQL's COPY FROM reads it
 * back in CsvRoundTripTest), the compressed ones by gzip and zstd (they must hold the plain file's exact bytes),
 * jsonl by Jackson and DuckDB, parquet by DuckDB with the types it sees. Seven consumers follow the same history
 * (full, changes, incremental, changes, delta), one per format, so at every step each format's file holds what
 * the csv consumer's does.
 */
@TestPropertySource(properties = "cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN)
class FormatsTest extends IntegrationTest {

    private static final Map<String, String> ADMIN = Map.of("Authorization", "Bearer " + TableAccessTest.ADMIN_TOKEN);

    private static final List<String> TABLES = List.of("public.users", "app.orders", "app.order_lines",
            "app.all_types");
    private static final List<String> FORMATS = List.of("csv", "csv.gz", "csv.zst", "jsonl", "jsonl.gz",
            "jsonl.zst", "parquet");
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

    /** The types DuckDB sees in each table's parquet file (a delta's start with operation VARCHAR). */
    private static final Map<String, String> PARQUET_TYPES = Map.of(
            "public.users", "id BIGINT, name VARCHAR, email VARCHAR, created_at TIMESTAMP WITH TIME ZONE, "
                    + "updated_at TIMESTAMP WITH TIME ZONE, is_deleted BOOLEAN",
            "app.orders", "id BIGINT, customer VARCHAR, total DECIMAL(12,2), status VARCHAR, "
                    + "placed_at TIMESTAMP WITH TIME ZONE",
            "app.order_lines", "order_id BIGINT, line_no INTEGER, sku VARCHAR, qty INTEGER",
            "app.all_types", "id VARCHAR, num VARCHAR, small SMALLINT, big BIGINT, real8 DOUBLE, flag BOOLEAN, "
                    + "txt VARCHAR, vc VARCHAR, ch VARCHAR, ints VARCHAR, texts VARCHAR, doc VARCHAR, raw VARCHAR, "
                    + "ts TIMESTAMP, tstz TIMESTAMP WITH TIME ZONE, day DATE, span VARCHAR, clock VARCHAR");

    @Test
    void everyFormatHoldsWhatTheCsvHoldsForFullIncrementalAndDeltaExports() throws Exception {
        awkwardRows();
        compareAllFormats("full");
        changes(1);
        compareAllFormats("incremental");
        changes(2);
        compareAllFormats("delta");
    }

    @Test
    void anExportWithNoRowsIsAValidEmptyFileInEveryFormat() throws Exception {
        for (String format : FORMATS) {
            Path file = OUTPUT_DIR.resolve(runExport("full", consumer(format), format, "app.order_lines")
                    .field("outputFilename"));
            byte[] content = format.endsWith(".gz") ? gunzip(file) : format.endsWith(".zst") ? unzstd(file)
                    : Files.readAllBytes(file);
            if (format.startsWith("csv")) {
                assertThat(new String(content, StandardCharsets.UTF_8)).isEqualTo("order_id,line_no,sku,qty\n");
            } else if (format.startsWith("jsonl")) {
                assertThat(content).as(format).isEmpty();
            } else {
                try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
                     Statement statement = duck.createStatement();
                     ResultSet rs = statement.executeQuery("SELECT count(*) FROM read_parquet(" + literal(file)
                             + ")")) {
                    rs.next();
                    assertThat(rs.getLong(1)).isZero();
                }
            }
        }
    }

    @Test
    void anUnknownFormatIsRefusedWithTheValidOnesListed() {
        Api.Response refused = api.post("/exports/full?format=xlsx", "fmt");

        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.header("Content-Type")).startsWith("application/problem+json");
        assertThat(refused.field("detail")).contains("xlsx").contains(String.join(", ", FORMATS));
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs", Long.class)).isZero();
    }

    @Test
    void theDownloadCarriesTheFormatsContentTypeAndRangesAddressTheStoredBytes() throws Exception {
        insertUsers(20);
        Api.Response accepted = runExport("full", "fmt", "csv.gz", "public.users");
        String jobId = accepted.field("jobId");
        byte[] stored = Files.readAllBytes(OUTPUT_DIR.resolve(accepted.field("outputFilename")));

        Api.Response whole = api.get("/exports/jobs/" + jobId + "/file", "fmt");
        Api.Response range = api.send("GET", "/exports/jobs/" + jobId + "/file", Map.of("X-Consumer-ID", "fmt",
                "Range", "bytes=0-1"), null);

        assertThat(accepted.field("outputFilename")).endsWith(".csv.gz");
        assertThat(accepted.field("format")).isEqualTo("csv.gz");
        assertThat(whole.header("Content-Type")).isEqualTo("application/gzip");
        assertThat(whole.header("Content-Length")).isEqualTo(String.valueOf(stored.length));
        assertThat(range.status()).isEqualTo(206);
        assertThat(range.header("Content-Range")).isEqualTo("bytes 0-1/" + stored.length);
        // gzip's magic number: the file holds the compressed bytes
        assertThat(stored[0] & 0xff).isEqualTo(0x1f);
        assertThat(stored[1] & 0xff).isEqualTo(0x8b);
    }

    @Test
    void aConsumersDefaultFormatAppliesWhenTheRequestNamesNone() {
        jdbc.update("INSERT INTO consumers (id, created_at) VALUES ('fmt-default', now()) "
                + "ON CONFLICT (id) DO UPDATE SET default_format = NULL");
        insertUsers(3);
        Api.Response before = runExport("full", "fmt-default", null, "public.users");

        Api.Response set = api.send("PUT", "/consumers/fmt-default/format", ADMIN, "{\"format\":\"jsonl.gz\"}");
        Api.Response bad = api.send("PUT", "/consumers/fmt-default/format", ADMIN, "{\"format\":\"zip\"}");
        Api.Response missing = api.send("PUT", "/consumers/nobody/format", ADMIN, "{\"format\":\"csv\"}");
        Api.Response byDefault = runExport("full", "fmt-default", null, "public.users");
        Api.Response named = runExport("full", "fmt-default", "csv", "public.users");

        assertThat(before.field("outputFilename")).endsWith(".csv");
        assertThat(set.status()).isEqualTo(200);
        assertThat(set.field("format")).isEqualTo("jsonl.gz");
        assertThat(api.send("GET", "/consumers/fmt-default/format", ADMIN, null).field("format"))
                .isEqualTo("jsonl.gz");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(missing.status()).isEqualTo(404);
        assertThat(byDefault.field("outputFilename")).endsWith(".jsonl.gz");
        assertThat(api.get("/exports/jobs/" + byDefault.field("jobId"), "fmt-default").field("format"))
                .isEqualTo("jsonl.gz");
        assertThat(named.field("outputFilename")).endsWith(".csv");
    }

    /** Each format's consumer exports every table; each file is compared with the csv consumer's. */
    private void compareAllFormats(String type) throws Exception {
        Map<String, Map<String, Path>> files = new LinkedHashMap<>();
        for (String format : FORMATS) {
            Api.Response accepted = runExport(type, consumer(format), format, TABLES.toArray(String[]::new));
            Map<String, Path> byTable = new LinkedHashMap<>();
            for (JsonNode file : accepted.json().get("files")) {
                assertThat(file.get("filename").asString()).endsWith("." + format);
                byTable.put(file.get("table").asString(), OUTPUT_DIR.resolve(file.get("filename").asString()));
            }
            files.put(format, byTable);
        }
        for (String table : TABLES) {
            Path csv = files.get("csv").get(table);
            Path jsonl = files.get("jsonl").get(table);
            String where = type + " " + table;
            assertThat(readCsv(csv)).as(where).hasSizeGreaterThan(1);
            if (type.equals("delta")) {
                assertThat(Files.readAllLines(csv).get(1)).as("the seed's unquoted operation").matches(
                        "(INSERT|UPDATE|DELETE),.*");
            }
            assertThat(gunzip(files.get("csv.gz").get(table))).as(where).isEqualTo(Files.readAllBytes(csv));
            assertThat(unzstd(files.get("csv.zst").get(table))).as(where).isEqualTo(Files.readAllBytes(csv));
            assertThat(gunzip(files.get("jsonl.gz").get(table))).as(where).isEqualTo(Files.readAllBytes(jsonl));
            assertThat(unzstd(files.get("jsonl.zst").get(table))).as(where).isEqualTo(Files.readAllBytes(jsonl));
            assertJsonLinesHoldTheCsv(jsonl, csv, where);
            assertParquetHoldsTheCsv(files.get("parquet").get(table), csv, type, table);
        }
        assertDuckDbReadsCompressedCsvAndJsonLines(files, type);
    }

    private static String consumer(String format) {
        return "fmt-" + format.replace('.', '-');
    }

    /**
     * One JSON object per line, keys the CSV's header in order, values the CSV's in JSON's own types: numbers and
     * booleans bare, NULL as null, timestamps the CSV's ISO text, jsonb nested, arrays as arrays.
     */
    private static void assertJsonLinesHoldTheCsv(Path jsonl, Path csv, String where) throws IOException {
        List<String[]> rows = readCsv(csv);
        List<String> lines = Files.readAllLines(jsonl, StandardCharsets.UTF_8);
        assertThat(lines).as(where).hasSize(rows.size() - 1);
        String[] header = rows.get(0);
        for (int r = 0; r < lines.size(); r++) {
            JsonNode json = JSON.readTree(lines.get(r));
            String[] row = rows.get(r + 1);
            List<String> keys = new ArrayList<>();
            json.propertyNames().forEach(keys::add);
            assertThat(keys).as(where).containsExactly(header);
            for (int c = 0; c < header.length; c++) {
                assertSameValue(json.get(header[c]), row[c], where + " row " + r + " column " + header[c]);
            }
        }
    }

    private static void assertSameValue(JsonNode value, String csv, String where) {
        if (value.isNull()) {
            assertThat(csv).as(where).isEmpty();
        } else if (value.isNumber()) {
            assertThat(new BigDecimal(csv)).as(where).isEqualByComparingTo(value.decimalValue());
        } else if (value.isBoolean()) {
            assertThat(csv).as(where).isEqualTo(String.valueOf(value.booleanValue()));
        } else if (value.isString()) {
            assertThat(value.stringValue()).as(where).isEqualTo(csv);
        } else if (value.isArray() && !csv.startsWith("[")) {
            // a PostgreSQL array (a json array's CSV text starts with '[')
            List<String> elements = new ArrayList<>();
            value.forEach(e -> elements.add(e.isString() ? e.stringValue() : e.toString()));
            assertThat("{" + String.join(",", elements) + "}").as(where).isEqualTo(csv);
        } else {
            assertThat(value).as(where).isEqualTo(JSON.readTree(csv));
        }
    }

    /** DuckDB sees the parquet file's types as declared, and every row equals the CSV's read with those types. */
    private static void assertParquetHoldsTheCsv(Path parquet, Path csv, String type, String table)
            throws SQLException {
        String expectedTypes = (type.equals("delta") ? "operation VARCHAR, " : "") + PARQUET_TYPES.get(table);
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
             Statement statement = duck.createStatement()) {
            statement.execute("SET TimeZone = 'UTC'");
            List<String> described = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery("DESCRIBE SELECT * FROM read_parquet(" + literal(parquet)
                    + ")")) {
                while (rs.next()) {
                    described.add(rs.getString("column_name") + " " + rs.getString("column_type"));
                }
            }
            assertThat(String.join(", ", described)).as(type + " " + table).isEqualTo(expectedTypes);
            String columns = described.stream().map(d -> {
                int space = d.indexOf(' ');
                return "'" + d.substring(0, space) + "': '" + d.substring(space + 1) + "'";
            }).collect(Collectors.joining(", ", "{", "}"));
            String fromCsv = "SELECT * FROM read_csv(" + literal(csv) + ", header = true, allow_quoted_nulls = false, "
                    + "columns = " + columns + ")";
            String fromParquet = "SELECT * FROM read_parquet(" + literal(parquet) + ")";
            try (ResultSet rs = statement.executeQuery("SELECT (SELECT count(*) FROM (" + fromParquet + ")), "
                    + "(SELECT count(*) FROM (" + fromCsv + ")), (SELECT count(*) FROM ((" + fromParquet
                    + " EXCEPT ALL " + fromCsv + ") UNION ALL (" + fromCsv + " EXCEPT ALL " + fromParquet + ")))")) {
                rs.next();
                assertThat(rs.getLong(1)).as(type + " " + table + " rows").isEqualTo(rs.getLong(2));
                assertThat(rs.getLong(3)).as(type + " " + table + " rows that differ").isZero();
            }
            if (table.equals("app.all_types") && type.equals("full")) {
                try (ResultSet rs = statement.executeQuery("SELECT ts::VARCHAR, tstz::VARCHAR FROM read_parquet("
                        + literal(parquet) + ") WHERE id = '00000000-0000-0000-0000-000000000003'")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("infinity");
                    assertThat(rs.getString(2)).isEqualTo("-infinity");
                }
            }
            if (table.equals("app.orders") && !type.equals("delta")) {
                try (ResultSet rs = statement.executeQuery("SELECT name, repetition_type FROM parquet_schema("
                        + literal(parquet) + ") WHERE name IN ('customer', 'total') ORDER BY name")) {
                    rs.next();
                    assertThat(rs.getString(2)).as("NOT NULL customer").isEqualTo("REQUIRED");
                    rs.next();
                    assertThat(rs.getString(2)).as("nullable total").isEqualTo("OPTIONAL");
                }
            }
        }
    }

    private static void assertDuckDbReadsCompressedCsvAndJsonLines(Map<String, Map<String, Path>> files, String type)
            throws SQLException {
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
             Statement statement = duck.createStatement()) {
            Path gz = files.get("csv.gz").get("public.users");
            Path jsonl = files.get("jsonl").get("public.users");
            Path csv = files.get("csv").get("public.users");
            try (ResultSet rs = statement.executeQuery("SELECT (SELECT count(*) FROM read_csv(" + literal(gz)
                    + ")), (SELECT count(*) FROM read_csv(" + literal(csv) + ")), (SELECT count(*) FROM read_json("
                    + literal(jsonl) + ", format = 'newline_delimited')), (SELECT typeof(any_value(id)) || ' ' || "
                    + "typeof(any_value(is_deleted)) FROM read_json(" + literal(jsonl) + ", format = "
                    + "'newline_delimited'))")) {
                rs.next();
                assertThat(rs.getLong(1)).as(type).isEqualTo(rs.getLong(2));
                assertThat(rs.getLong(3)).as(type).isEqualTo(rs.getLong(2));
                assertThat(rs.getString(4)).as(type).isEqualTo("BIGINT BOOLEAN");
            }
        }
    }

    private static String literal(Path file) {
        return "'" + file.toString().replace("'", "''") + "'";
    }

    private static byte[] gunzip(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return in.readAllBytes();
        }
    }

    private static byte[] unzstd(Path file) throws IOException {
        try (InputStream in = new ZstdInputStream(Files.newInputStream(file))) {
            return in.readAllBytes();
        }
    }

    /**
     * Values a file format can get wrong: quotes, separators, backslashes, line breaks, control characters
     * (including the ones jsonl's COPY uses as quote and delimiter), non-ASCII text, NULLs, extreme numbers and
     * timestamps, json, arrays and bytes.
     */
    private void awkwardRows() {
        for (String name : List.of("Pat, \"the Boss\"", "back\\slash \\n", "line one\nline two\r\n", "tab\there",
                "ünïcödé 日本 🎉", "ctrl \u0001 \u0002 \u001f end", "'single'", "{\"json\": \"like\"}", "")) {
            insertUser(name, "u" + name.hashCode() + "@example.com");
        }
        jdbc.update("INSERT INTO app.orders (id, customer, total, status, placed_at) VALUES "
                + "(1, 'Ada', 10.50, 'paid', '2026-01-02T03:04:05.123456Z'), (2, 'Bob', NULL, 'new', now()), "
                + "(3, 'Zoë \"Z\"', -9999999999.99, 'x,y', '1999-12-31T23:59:59Z')");
        jdbc.update("INSERT INTO app.order_lines VALUES (1, 1, 'sku-1', 2), (1, 2, 'sku,2', 1), (3, 1, 'sk\"u', -5)");
        jdbc.update("""
                INSERT INTO app.all_types VALUES
                ('00000000-0000-0000-0000-000000000001', 12345678901234567890.123456789, 32767, 9223372036854775807,
                 1.5e300, true, 'text "q" \\ back', 'varchar, comma', 'ab', '{1,2,3}', '{a,b}',
                 '{"n": 1.5, "s": "x\\"y", "a": [1, {"b": null}], "u": "日本"}', '\\x00ff10', '2026-02-03 04:05:06.789',
                 '2026-02-03 04:05:06.789+02', '2026-02-03', '1 year 2 mons 3 days 04:05:06', '23:59:59.999999'),
                ('00000000-0000-0000-0000-000000000002', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                ('00000000-0000-0000-0000-000000000003', -0.000001, -32768, -9223372036854775808, -0.0, false, '',
                 '', '', '{}', '{}', '[]', '\\x', 'infinity', '-infinity', '0001-01-01', '-1 days', '00:00:00')
                """);
    }

    /** A round of changes to every table: updates, inserts, soft and hard deletes. */
    private void changes(int round) {
        jdbc.update("UPDATE users SET name = name || ' r" + round + "' WHERE id IN (1, 2)");
        jdbc.update("UPDATE users SET is_deleted = true WHERE id = " + (2 + round));
        insertUser("new in round " + round + " \"q\"", "round" + round + "@example.com");
        jdbc.update("UPDATE app.orders SET total = total + 1, status = 'round " + round + "' WHERE id = 1");
        jdbc.update("DELETE FROM app.orders WHERE id = " + (round == 1 ? 2 : 3));
        jdbc.update("INSERT INTO app.orders (id, customer, total) VALUES (" + (10 + round) + ", 'new', 1.01)");
        jdbc.update("DELETE FROM app.order_lines WHERE order_id = 1 AND line_no = " + round);
        jdbc.update("INSERT INTO app.order_lines VALUES (" + (10 + round) + ", 1, 'new', 1)");
        jdbc.update("UPDATE app.all_types SET txt = 'round " + round + "', flag = NOT coalesce(flag, false) "
                + "WHERE id = '00000000-0000-0000-0000-00000000000" + round + "'");
        jdbc.update("INSERT INTO app.all_types (id, num, ints) VALUES ('00000000-0000-0000-0000-00000000001" + round
                + "', " + round + ".5, '{" + round + "}')");
    }
}
