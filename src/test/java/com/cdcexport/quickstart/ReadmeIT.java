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
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

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
 * nothing set in an empty directory, then every {@code bash} block of README.md and of the docs pages in
 * {@link #PAGES}, in that order, in one shell, with what each command prints compared with what the page shows, so
 * the documentation cannot drift from what the service does.
 *
 * <p>How a page shows output (docs/testing.md, "The examples in these pages are tested", says it for writers):
 * <ul>
 * <li>In a {@code bash} block, the {@code # } lines (or a bare {@code #}) right under a command, with no blank line
 * between, are what that command prints, stdout and stderr together. The command is the line above them with its
 * {@code \} continuation lines. Other comment lines are explanations: at the top of a block, after a blank line, after
 * another explanation, or at the end of a command line. Lines of a here-document are never outputs.</li>
 * <li>Trailing newlines do not count; {@code localhost:8080} means the test's port, as in the commands.</li>
 * <li>Placeholders, for what differs between runs: {@code <time>} an ISO 8601 time, {@code <stamp>} the time in a
 * file name ({@code 20261207T154241Z}, also with {@code _2}), {@code <uuid>} a job id, {@code <key>} an API key,
 * {@code <hex>} lowercase hex digits, {@code <n>} a number, {@code …} anything on one line (also nothing), and a
 * line that is only {@code …} any number of lines (also none).</li>
 * </ul>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReadmeIT {

    /**
     * The pages whose {@code bash} blocks run, in this order: the README's quick start sets up what the others use
     * ({@code $ADMIN_TOKEN}, {@code $CDC_KEY}, {@code $WAREHOUSE_KEY}, {@code await_job}, {@code downloads/}).
     */
    static final List<String> PAGES = List.of("README.md", "docs/api.md", "docs/formats.md", "docs/operations.md");
    /** The page with the crontab line of the cron example. */
    private static final String SCHEDULES_PAGE = "docs/operations.md";
    private static final Pattern EMBEDDED_PORT = Pattern.compile("embedded PostgreSQL on localhost:(\\d+) \\(fsync on\\)");

    /**
     * 0755, as a checkout is: as root the embedded PostgreSQL runs as nobody, who must pass through it (JUnit's
     * temporary directories are 0700, and /tmp may be too; see OpenDirectories).
     */
    static Path project;
    /** The examples' HOME, their outputs and the shell's logs: outside the project, which they must not litter. */
    static Path scratch;

    private static ServiceProcess service;

    @BeforeAll
    static void project() throws IOException {
        project = OpenDirectories.create("readme-");
        scratch = OpenDirectories.create("readme-scratch-");
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
        FileSystemUtils.deleteRecursively(project.toFile());
        FileSystemUtils.deleteRecursively(scratch.toFile());
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
    void everyBashExampleOfTheReadmeAndTheDocsRunsInOrderAndPrintsWhatThePagesShow() throws Exception {
        assertThat(PAGES).as("pages with ```bash blocks: each must be in ReadmeIT.PAGES to be run")
                .containsAll(pagesWithBashBlocks());
        Path home = Files.createDirectories(scratch.resolve("home"));
        Path outputs = Files.createDirectories(scratch.resolve("outputs"));
        List<String> before = entries(project);

        Examples examples = Examples.of(PAGES, outputs);
        Result run = run(List.of("bash", "-c", atOurPort(examples.script())),
                Map.of("PATH", System.getenv("PATH"), "HOME", home.toString()), Duration.ofMinutes(5));
        List<String> mismatches = examples.mismatches(ReadmeIT::atOurPort);

        assertThat(run.exitCode()).as("%s%nwhat the examples printed:%n%s%s", examples.failure(run.output()),
                run.output(), mismatches.isEmpty() ? "" : "\nand before that:\n" + String.join("\n\n", mismatches))
                .isZero();
        assertThat(examples.checks()).as("commands whose output the pages show").hasSizeGreaterThan(20);
        if (!mismatches.isEmpty()) {
            throw new AssertionError(mismatches.size() + " command(s) printed something else than the pages show:\n\n"
                    + String.join("\n\n", mismatches));
        }
        assertThat(run.output()).as("key revoked, then refused")
                .contains("\n204\n").contains("\n401\n")
                .contains("done: delta_warehouse_");
        assertThat(project.resolve("downloads/full.csv")).content()
                .startsWith("id,name,email,created_at,updated_at,is_deleted\n");
        assertThat(project.resolve("downloads/delta.csv")).content()
                .startsWith("operation,id,name,email,created_at,updated_at,is_deleted\nINSERT,");
        List<String> after = new ArrayList<>(before);
        after.add("downloads");
        assertThat(entries(project)).as("the examples save files in downloads/ only (git-ignored)")
                .containsExactlyInAnyOrderElementsOf(after);

        // the crontab line's command, with the environment cron gives it
        String cronLine = blocks(SCHEDULES_PAGE, "crontab").get(0).text().strip();
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

    /**
     * A page's {@code bash} blocks turned into one script: each command whose output the page shows runs inside
     * {@code { …; } >file 2>&1}, in the same shell (its variables stay set), and its file is compared afterwards.
     */
    static final class Examples {

        private static final Pattern HEREDOC = Pattern.compile("(?<!<)<<(?!<)-?\\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\\1");
        private static final Pattern FAILED = Pattern.compile("@@failed (\\d+) (\\d+)");

        private final Path outputs;
        /** The script's lines, and for each the page and line it came from. */
        private final List<String> script = new ArrayList<>();
        private final List<String> origins = new ArrayList<>();
        private final List<Check> checks = new ArrayList<>();

        private Examples(Path outputs) {
            this.outputs = outputs;
            // fd 3 is the shell's own stderr: a failing command's redirection must not swallow the notice
            line("set -euo pipefail", "(ReadmeIT)");
            line("exec 3>&2; trap 'echo \"@@failed $? $LINENO\" >&3' ERR", "(ReadmeIT)");
        }

        static Examples of(List<String> pages, Path outputs) throws IOException {
            Examples examples = new Examples(outputs);
            for (String page : pages) {
                List<Block> blocks = blocks(page, "bash");
                assertThat(blocks).as("```bash blocks in " + page).isNotEmpty();
                for (Block block : blocks) {
                    examples.add(block);
                }
            }
            return examples;
        }

        /** A command whose output its page shows: where it is, its text and its expected lines. */
        record Check(String page, int line, String command, List<String> expected, Path output) {
        }

        private enum Kind { COMMAND, OUTPUT, EXPLANATION, BLANK, HEREDOC }

        private void add(Block block) {
            List<String> lines = block.text().lines().toList();
            Kind[] kinds = new Kind[lines.size()];
            String terminator = null;
            Kind previous = Kind.BLANK;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                boolean output = line.equals("#") || line.startsWith("# ");
                if (terminator != null) {
                    kinds[i] = Kind.HEREDOC;
                    terminator = line.strip().equals(terminator) ? null : terminator;
                } else if (line.isBlank()) {
                    kinds[i] = Kind.BLANK;
                } else if (line.startsWith("#")) {
                    if (output && previous == Kind.HEREDOC) {
                        throw new IllegalStateException(block.page() + ":" + (block.line() + i)
                                + ": output under a here-document; put the command that prints it on a line of its own");
                    }
                    kinds[i] = output && (previous == Kind.COMMAND || previous == Kind.OUTPUT) ? Kind.OUTPUT
                            : Kind.EXPLANATION;
                } else {
                    kinds[i] = Kind.COMMAND;
                    Matcher heredoc = HEREDOC.matcher(line);
                    terminator = heredoc.find() ? heredoc.group(2) : null;
                }
                previous = kinds[i];
            }
            for (int i = 0; i < lines.size(); i++) {
                if (kinds[i] != Kind.COMMAND || i + 1 == lines.size() || kinds[i + 1] != Kind.OUTPUT) {
                    if (kinds[i] == Kind.COMMAND || kinds[i] == Kind.HEREDOC) {
                        line(lines.get(i), block.page() + ":" + (block.line() + i));
                    }
                    continue;
                }
                // i ends a command whose output follows; it starts after the last line not continued by a backslash
                int first = script.size();
                while (first > 2 && script.get(first - 1).endsWith("\\")) {
                    first--;
                }
                int commandLine = block.line() + i - (script.size() - first);
                List<String> command = new ArrayList<>(script.subList(first, script.size()));
                command.add(lines.get(i));
                List<String> expected = new ArrayList<>();
                for (int j = i + 1; j < lines.size() && kinds[j] == Kind.OUTPUT; j++) {
                    expected.add(lines.get(j).length() > 2 ? lines.get(j).substring(2) : "");
                }
                Check check = new Check(block.page(), commandLine, String.join("\n", command), expected,
                        outputs.resolve(checks.size() + ".out"));
                checks.add(check);
                script.add(first, "{");
                origins.add(first, block.page() + ":" + commandLine);
                line(lines.get(i), block.page() + ":" + (block.line() + i));
                line("} >'" + check.output() + "' 2>&1; cat '" + check.output() + "'", block.page() + ":" + commandLine);
            }
        }

        private void line(String text, String origin) {
            script.add(text);
            origins.add(origin);
        }

        String script() {
            return String.join("\n", script) + "\n";
        }

        List<Check> checks() {
            return checks;
        }

        /** Where the script stopped, from the ERR trap's notice in its output. */
        String failure(String output) {
            Matcher failed = FAILED.matcher(output);
            String where = null;
            String status = null;
            while (failed.find()) {
                status = failed.group(1);
                int line = Integer.parseInt(failed.group(2));
                where = line >= 1 && line <= origins.size() ? origins.get(line - 1) : "line " + line + " of the script";
            }
            return where == null ? "the examples failed" : "the example at " + where + " failed (exit " + status + ")";
        }

        /** One readable paragraph per command that printed something else than its page shows. */
        List<String> mismatches(UnaryOperator<String> atOurPort) throws IOException {
            List<String> mismatches = new ArrayList<>();
            for (Check check : checks) {
                if (!Files.exists(check.output())) {
                    continue; // not reached: the script's failure says where it stopped
                }
                List<String> expected = check.expected().stream().map(atOurPort).toList();
                String printed = Files.readString(check.output(), StandardCharsets.UTF_8).replaceFirst("\\n+\\z", "");
                if (!Expected.pattern(expected).matcher(printed + "\n").matches()) {
                    mismatches.add(describe(check, expected, printed.lines().toList()));
                }
            }
            return mismatches;
        }

        private static String describe(Check check, List<String> expected, List<String> printed) {
            StringBuilder text = new StringBuilder(check.page() + ":" + check.line() + ": `"
                    + check.command().replace("\\\n", " ") + "` printed something else");
            for (int i = 0; i < Math.max(expected.size(), printed.size()); i++) {
                String want = i < expected.size() ? expected.get(i) : null;
                String got = i < printed.size() ? printed.get(i) : null;
                if ("…".equals(want)) {
                    break; // any lines from here: the whole outputs below say where
                }
                if (want == null || got == null || !Expected.line(want).matcher(got).matches()) {
                    text.append(" at line ").append(i + 1).append('\n')
                            .append("  expected: ").append(want == null ? "(nothing more)" : want).append('\n')
                            .append("  printed:  ").append(got == null ? "(nothing more)" : got);
                    break;
                }
            }
            text.append("\n  the page shows:\n");
            expected.forEach(line -> text.append("    # ").append(line).append('\n'));
            text.append("  the command printed:\n");
            printed.forEach(line -> text.append("    ").append(line).append('\n'));
            return text.toString().stripTrailing();
        }
    }

    /** The placeholders of expected output, as regular expressions. */
    static final class Expected {

        private static final Map<String, String> PLACEHOLDERS = Map.of(
                "<time>", "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?(?:Z|[+-]\\d{2}:\\d{2})?",
                "<stamp>", "\\d{8}T\\d{6}Z(?:_\\d+)?",
                "<uuid>", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "<key>", "cdc_[A-Za-z0-9_-]{43}",
                "<hex>", "[0-9a-f]+",
                "<n>", "-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?",
                "…", "[^\\n]*?");
        private static final Pattern PLACEHOLDER = Pattern.compile(
                String.join("|", PLACEHOLDERS.keySet().stream().map(Pattern::quote).toList()));

        /** The expected lines as one pattern for the whole output, each line ending in a newline. */
        static Pattern pattern(List<String> lines) {
            StringBuilder regex = new StringBuilder();
            for (String line : lines) {
                regex.append(line.equals("…") ? "(?:[^\\n]*\\n)*?" : regex(line) + "\\n");
            }
            return Pattern.compile(regex.toString());
        }

        static Pattern line(String line) {
            return Pattern.compile(regex(line));
        }

        private static String regex(String line) {
            StringBuilder regex = new StringBuilder();
            Matcher placeholder = PLACEHOLDER.matcher(line);
            int last = 0;
            while (placeholder.find()) {
                regex.append(Pattern.quote(line.substring(last, placeholder.start())))
                        .append(PLACEHOLDERS.get(placeholder.group()));
                last = placeholder.end();
            }
            return regex.append(Pattern.quote(line.substring(last))).toString();
        }
    }

    /** A fenced block of a page: the page, the line of its first content line, its text. */
    record Block(String page, int line, String text) {
    }

    /** The fenced blocks of {@code page} (relative to the project) whose info string is {@code language}, in order. */
    static List<Block> blocks(String page, String language) throws IOException {
        List<Block> blocks = new ArrayList<>();
        List<String> lines = Files.readAllLines(Path.of(page));
        StringBuilder block = null;
        int first = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (block == null && line.equals("```" + language)) {
                block = new StringBuilder();
                first = i + 2;
            } else if (block != null && line.equals("```")) {
                blocks.add(new Block(page, first, block.toString()));
                block = null;
            } else if (block != null) {
                block.append(line).append('\n');
            }
        }
        return blocks;
    }

    /** README.md and the docs pages that have a {@code bash} block. */
    private static List<String> pagesWithBashBlocks() throws IOException {
        List<String> pages = new ArrayList<>(List.of("README.md"));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.map(Path::toString).filter(name -> name.endsWith(".md")).sorted().forEach(pages::add);
        }
        List<String> withBash = new ArrayList<>();
        for (String page : pages) {
            if (!blocks(page, "bash").isEmpty()) {
                withBash.add(page);
            }
        }
        return withBash;
    }

    private static List<String> entries(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.map(entry -> entry.getFileName().toString()).sorted().toList();
        }
    }

    private static Api.Response bearer(String path, String token) {
        return service.api().send("GET", path, Map.of("Authorization", "Bearer " + token), null);
    }

    private static String atOurPort(String text) {
        return text.replace("localhost:8080", "localhost:" + service.port());
    }

    private record Result(int exitCode, String output) {
    }

    private static Result run(List<String> command, Map<String, String> environment, Duration timeout)
            throws IOException, InterruptedException {
        Path output = Files.createTempFile(scratch, "run-", ".log");
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
