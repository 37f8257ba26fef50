package com.cdcexport.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import com.opencsv.CSVReader;
import com.opencsv.CSVReaderBuilder;
import com.opencsv.RFC4180ParserBuilder;
import com.opencsv.exceptions.CsvException;
import org.junit.jupiter.api.BeforeEach;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;


/**
 * The whole service on a random port against real PostgreSQL, with an empty database and output directory
 * before each test. The "test" profile turns authentication off (AuthTest turns it on). Tests talk HTTP to it and use plain JDBC as a second, independent client.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
public abstract class IntegrationTest {

    protected static final Path OUTPUT_DIR = createOutputDir();

    @LocalServerPort
    protected int port;

    /** A client of its own, outside the service's pool, that finds both the service's tables and users. */
    protected final JdbcTemplate jdbc = TestDatabase.jdbc();

    protected Api api;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("cdc.database-url", TestDatabase::url);
        registry.add("cdc.output-dir", OUTPUT_DIR::toString);
        registry.add("cdc.seed-users", () -> "0");
    }

    @BeforeEach
    void cleanSlate() throws IOException {
        api = new Api(port);
        awaitNoActiveJobs();
        jdbc.execute(TestDatabase.RESET_SQL);
        try (Stream<Path> files = Files.walk(OUTPUT_DIR)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                if (!file.equals(OUTPUT_DIR)) {
                    Files.delete(file);
                }
            }
        }
    }

    private void awaitNoActiveJobs() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline
                && jdbc.queryForObject("SELECT count(*) FROM export_jobs WHERE status IN ('queued','running')",
                Long.class) > 0) {
            sleep(50);
        }
    }

    private static Path createOutputDir() {
        try {
            return Files.createTempDirectory("cdc-export-test-output");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A second client, outside the service's pool: for open transactions across an export, locks, and so on. */
    protected static Connection openConnection() throws SQLException {
        return TestDatabase.connect();
    }

    protected long insertUser(String name, String email) {
        return jdbc.queryForObject("INSERT INTO users (name, email) VALUES (?, ?) RETURNING id", Long.class,
                name, email);
    }

    protected long insertUser(String name, String email, Instant createdAt, Instant updatedAt, boolean deleted) {
        return jdbc.queryForObject("INSERT INTO users (name, email, created_at, updated_at, is_deleted) "
                        + "VALUES (?, ?, ?, ?, ?) RETURNING id", Long.class, name, email,
                java.sql.Timestamp.from(createdAt), java.sql.Timestamp.from(updatedAt), deleted);
    }

    protected void insertUsers(int count) {
        jdbc.update("INSERT INTO users (name, email) SELECT 'User ' || g, 'user' || g || '@example.com' "
                + "FROM generate_series(1, ?) AS g", count);
    }

    /** Starts an export and returns its 202 body. */
    protected Api.Response startExport(String type, String consumer) {
        Api.Response response = api.post("/exports/" + type, consumer);
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        return response;
    }

    /** Runs an export to the end and returns its file's rows, header first. */
    protected List<String[]> export(String type, String consumer) {
        Api.Response response = startExport(type, consumer);
        String status = awaitJob(response.field("jobId"));
        assertThat(status).as("job %s: %s", response.field("jobId"), jobRow(response.field("jobId")))
                .isEqualTo("completed");
        return readCsv(response.field("outputFilename"));
    }

    /**
     * Runs an export of {@code tables} in {@code format} (the consumer's default when null) to the end and returns
     * its 202 body.
     */
    protected Api.Response runExport(String type, String consumer, String format, String... tables) {
        StringBuilder query = new StringBuilder(format == null ? "" : "?format=" + format);
        for (String table : tables) {
            query.append(query.isEmpty() ? "?" : "&").append("table=").append(table);
        }
        Api.Response accepted = api.post("/exports/" + type + query, consumer);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        assertThat(awaitJob(accepted.field("jobId"))).as("%s", jobRow(accepted.field("jobId"))).isEqualTo("completed");
        return accepted;
    }

    protected String awaitJob(String jobId) {
        return TestDatabase.awaitJob(jobId);
    }

    protected void awaitStatus(String jobId, String status) {
        TestDatabase.awaitStatus(jobId, status);
    }

    protected Map<String, Object> jobRow(String jobId) {
        return jdbc.queryForMap("SELECT * FROM export_jobs WHERE id = ?", UUID.fromString(jobId));
    }

    protected static List<String[]> readCsv(String filename) {
        return readCsv(OUTPUT_DIR.resolve(filename));
    }

    /** Parses an export file with opencsv's RFC 4180 parser: an independent reader of what we wrote. */
    public static List<String[]> readCsv(Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             CSVReader csv = new CSVReaderBuilder(reader).withCSVParser(new RFC4180ParserBuilder().build())
                     .withKeepCarriageReturn(true).build()) {
            return csv.readAll();
        } catch (IOException | CsvException e) {
            throw new IllegalStateException(e);
        }
    }

    protected static List<String> outputFiles() throws IOException {
        try (Stream<Path> files = Files.list(OUTPUT_DIR)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Column {@code name} of every data row (the header names the columns). */
    protected static List<String> column(List<String[]> rows, String name) {
        int index = List.of(rows.get(0)).indexOf(name);
        assertThat(index).as("column %s in %s", name, List.of(rows.get(0))).isNotNegative();
        return rows.stream().skip(1).map(r -> r[index]).toList();
    }

    protected String lastExportedAt(String consumer) {
        return api.get("/exports/watermark", consumer).field("lastExportedAt");
    }

    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
