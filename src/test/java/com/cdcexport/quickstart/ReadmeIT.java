package com.cdcexport.quickstart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import org.springframework.util.FileSystemUtils;

import com.cdcexport.support.Api;
import com.cdcexport.support.OpenDirectories;
import com.cdcexport.support.ServiceProcess;

/**
 * A newcomer's first ten minutes, against the packaged jar run as whoever runs the tests (root in CI): started with
 * nothing set in an empty directory, then every {@code bash} block of README.md run in order in one shell, so the
 * README cannot drift from what the service does.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReadmeIT {

    private static final Path README = Path.of("README.md").toAbsolutePath();
    private static final Pattern EMBEDDED_PORT = Pattern.compile("embedded PostgreSQL on localhost:(\\d+) \\(fsync on\\)");

    /**
     * 0755, as a checkout is: as root the embedded PostgreSQL runs as nobody, who must pass through it (JUnit's
     * temporary directories are 0700, and /tmp may be too; see OpenDirectories).
     */
    static Path project;

    private static ServiceProcess service;

    @BeforeAll
    static void project() throws IOException {
        project = OpenDirectories.create("readme-");
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
        FileSystemUtils.deleteRecursively(project.toFile());
    }

    @Test
    @Order(1)
    void startsWithNothingSetOnADurablePrivateEmbeddedDatabase() throws Exception {
        service = ServiceProcess.startIn(project, Map.of());
        awaitLine("Ready at http://localhost:" + service.port());

        List<String> lines = service.log().lines().toList();
        assertThat(lines).as("not a terminal: JSON lines").allMatch(line -> line.startsWith("{"));
        assertThat(lines).filteredOn(line -> line.contains("Ready at")).singleElement().asString()
                .contains("auth api-key (admin token: cat .data/admin-token; consumer-1's key: cat .data/consumer-1.key)")
                .contains("100000 users in the table")
                .contains("export files go to " + project.resolve("output").toRealPath());
        assertThat(lines).filteredOn(line -> line.contains("DATABASE_URL is not set")).singleElement().asString()
                .contains("data in " + project.resolve(".data/postgres").toRealPath())
                .contains("set DATABASE_URL=postgresql://");
        assertThat(lines).noneMatch(line -> line.contains("\"level\":\"WARN\"") || line.contains("\"level\":\"ERROR\""));

        // As root the server runs as nobody: it may pass through .data (not list it) and run the binaries.
        boolean root = "root".equals(System.getProperty("user.name"));
        assertThat(mode(project.resolve(".data"))).isEqualTo(root ? "rwx--x--x" : "rwx------");
        assertThat(mode(project.resolve(".data/postgres"))).isEqualTo("rwx------");
        assertThat(mode(project.resolve(".data/postgres-bin"))).isEqualTo(root ? "rwxr-xr-x" : "rwx------");
        if (root) {
            assertThat(Files.getOwner(project.resolve(".data/postgres")).getName()).isEqualTo("nobody");
        }
        for (String secret : List.of("admin-token", "consumer-1.key", "postgres-password")) {
            assertThat(mode(project.resolve(".data").resolve(secret))).as(secret).isEqualTo("rw-------");
        }

        try (Connection db = embedded("cdc"); Statement sql = db.createStatement()) {
            assertThat(single(sql, "SHOW fsync")).isEqualTo("on");
            assertThat(single(sql, "SHOW synchronous_commit")).isEqualTo("on");
            assertThat(single(sql, "SHOW full_page_writes")).isEqualTo("on");
            assertThat(single(sql, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user")).isEqualTo("false");
        }
        assertThatThrownBy(() -> DriverManager.getConnection(
                "jdbc:postgresql://localhost:" + embeddedPort() + "/postgres", "postgres", null).close())
                .as("no login without the password").isInstanceOf(SQLException.class);
    }

    @Test
    @Order(2)
    void everyBashExampleOfTheReadmeRunsAsWrittenInOrder() throws Exception {
        Path home = Files.createDirectories(project.resolve("home"));
        String script = "set -euo pipefail\n" + String.join("\n", blocks("bash"));
        Result run = run(List.of("bash", "-c", atOurPort(script)),
                Map.of("PATH", System.getenv("PATH"), "HOME", home.toString()), Duration.ofMinutes(3));

        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).as("key revoked, then refused")
                .contains("\n204\n").contains("\n401\n")
                .contains("done: delta_warehouse_");
        assertThat(project.resolve("full.csv")).content().startsWith("id,name,email,created_at,updated_at,is_deleted\n");
        assertThat(project.resolve("delta.csv")).content()
                .startsWith("operation,id,name,email,created_at,updated_at,is_deleted\nINSERT,");

        // the crontab line's command, with the environment cron gives it
        String cronLine = blocks("crontab").get(0).strip();
        String command = cronLine.split("\\s+", 6)[5];
        Result cron = run(List.of("/bin/sh", "-c", atOurPort(command)), Map.of("HOME", home.toString(),
                "LOGNAME", System.getProperty("user.name"), "SHELL", "/bin/sh", "PATH", "/usr/bin:/bin"),
                Duration.ofMinutes(1));
        assertThat(cron.exitCode()).as(cron.output()).isZero();
        assertThat(home.resolve("cdc-export.log")).content().contains("done: delta_warehouse_");
    }

    @Test
    @Order(3)
    void aRestartKeepsTheDataTheAdminTokenAndTheConsumerKey() throws Exception {
        String adminToken = Files.readString(project.resolve(".data/admin-token")).strip();
        String key = Files.readString(project.resolve(".data/consumer-1.key")).strip();
        service.terminate(Duration.ofSeconds(60));

        service = ServiceProcess.startIn(project, Map.of());
        awaitLine("Ready at http://localhost:" + service.port());

        assertThat(Files.readString(project.resolve(".data/admin-token")).strip()).isEqualTo(adminToken);
        assertThat(bearer("/exports/watermark", key).status()).isEqualTo(200);
        Api.Response consumers = bearer("/consumers", adminToken);
        assertThat(consumers.status()).isEqualTo(200);
        Matcher consumer1 = Pattern.compile("\\{\"consumerId\":\"consumer-1\".*?]}").matcher(consumers.body());
        assertThat(consumer1.find()).as(consumers.body()).isTrue();
        assertThat(consumer1.group()).as("one key, still active").containsOnlyOnce("\"keyId\"")
                .contains("\"active\":true");
        assertThat(service.log()).doesNotContain("consumer_created").doesNotContain("Seeded ");
    }

    private static Api.Response bearer(String path, String token) {
        return service.api().send("GET", path, Map.of("Authorization", "Bearer " + token), null);
    }

    /** The fenced blocks of README.md whose info string is {@code language}, in order. */
    static List<String> blocks(String language) throws IOException {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        for (String line : Files.readAllLines(README)) {
            if (block == null && line.equals("```" + language)) {
                block = new StringBuilder();
            } else if (block != null && line.equals("```")) {
                blocks.add(block.toString());
                block = null;
            } else if (block != null) {
                block.append(line).append('\n');
            }
        }
        assertThat(blocks).as("```" + language + " blocks in README.md").isNotEmpty();
        return blocks;
    }

    private static String atOurPort(String text) {
        return text.replace("localhost:8080", "localhost:" + service.port());
    }

    private record Result(int exitCode, String output) {
    }

    private static Result run(List<String> command, Map<String, String> environment, Duration timeout)
            throws IOException, InterruptedException {
        Path output = Files.createTempFile(project, "run-", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(project.toFile())
                .redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().clear();
        builder.environment().putAll(environment);
        Process process = builder.start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("still running after " + timeout + ":\n" + Files.readString(output));
        }
        return new Result(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
    }

    private static void awaitLine(String text) throws InterruptedException {
        for (int i = 0; i < 100 && !service.log().contains(text); i++) {
            Thread.sleep(100);
        }
        assertThat(service.log()).contains(text);
    }

    private static Connection embedded(String database) throws Exception {
        String password = Files.readString(project.resolve(".data/postgres-password")).strip();
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + embeddedPort() + "/" + database,
                "cdc", password);
    }

    private static int embeddedPort() {
        Matcher matcher = EMBEDDED_PORT.matcher(service.log());
        assertThat(matcher.find()).as("the embedded PostgreSQL's start-up line").isTrue();
        return Integer.parseInt(matcher.group(1));
    }

    private static String single(Statement sql, String query) throws SQLException {
        try (ResultSet row = sql.executeQuery(query)) {
            row.next();
            return row.getString(1);
        }
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
