package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import com.cdcexport.CdcExportApplication;
import com.cdcexport.support.TestDatabase;

/** A bad setting stops start-up with one line that names the environment variable to fix. */
@ExtendWith(OutputCaptureExtension.class)
class StartupConfigurationTest {

    @ParameterizedTest
    @CsvSource({
            "cdc.seed-users, -5, SEED_USERS",
            "cdc.seed-users, lots, SEED_USERS",
            "cdc.jobs.workers, 0, EXPORT_WORKERS",
            "cdc.jobs.queue-capacity, many, EXPORT_QUEUE_CAPACITY",
            "cdc.jobs.stale-after, soon, EXPORT_STALE_AFTER",
            "cdc.console.session-timeout, 10s, CONSOLE_SESSION_TIMEOUT",
            "cdc.console.max-sessions, 0, CONSOLE_MAX_SESSIONS",
            "cdc.console.sign-in-per-minute, -1, CONSOLE_SIGN_IN_PER_MINUTE",
            "cdc.parallel.parallelism, 99, EXPORT_PARALLELISM",
            "cdc.parallel.min-rows, -1, EXPORT_PARALLEL_MIN_ROWS",
            "cdc.parallel.readers, -2, EXPORT_READERS",
            "cdc.iceberg.compact-delete-files, -1, ICEBERG_COMPACT_DELETE_FILES",
            "cdc.iceberg.compact-keys-in-memory, 10, ICEBERG_COMPACT_KEYS_IN_MEMORY",
            "cdc.parallel.warm-up-rows, -1, EXPORT_WARM_UP_ROWS",
            "cdc.iceberg.catalog, hive, ICEBERG_CATALOG",
            "cdc.iceberg.namespace, shared, ICEBERG_NAMESPACE",
            "cdc.iceberg.upkeep-interval, 10s, ICEBERG_UPKEEP_INTERVAL"})
    void invalidSettingFailsStartupNamingTheVariable(String property, String value, String variable,
                                                     CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(CdcExportApplication.class)
                .web(WebApplicationType.NONE)
                .run("--" + property + "=" + value, "--cdc.database-url=postgresql://nowhere.invalid/none").close())
                .isNotNull();

        assertThat(output.getAll()).contains("Invalid configuration: " + variable + "='" + value + "'");
    }

    @ParameterizedTest
    @CsvSource({"mysql://u:pw@h/d", "postgresql://h:5432/"})
    void invalidDatabaseUrlFailsStartupNamingDatabaseUrl(String url, CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(CdcExportApplication.class)
                .web(WebApplicationType.NONE)
                .run("--cdc.database-url=" + url).close())
                .hasStackTraceContaining("DATABASE_URL is not a PostgreSQL URL");
        assertThat(output.getAll()).doesNotContain(":pw@");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--cdc.auth.mode=api-key | AUTH_MODE=api-key needs ADMIN_TOKEN",
            "--cdc.auth.admin-token=tooShortSecretValue1 | ADMIN_TOKEN must be at least 32 characters",
            "--cdc.auth.consumer-api-keys=alpha=tooShortSecretValue1 | CONSUMER_API_KEYS entry 1 (consumer 'alpha')",
            "--cdc.auth.consumer-api-keys=a/b=tooShortSecretValue1tooShortSecretValue1 | CONSUMER_API_KEYS entry 1:",
            "--cdc.auth.consumer-api-keys=..=tooShortSecretValue1tooShortSecretValue1 | CONSUMER_API_KEYS entry 1: "
                    + "the consumer must be 1 to 128 characters from A-Z, a-z, 0-9, '.', '_' and '-', not only dots",
            "--cdc.auth.consumer-api-keys=ok=secondSecretValue2secondSecretValue2;...=tooShortSecretValue1tooShortSecretValue1 | CONSUMER_API_KEYS entry 2:",
            "--cdc.auth.consumer-api-keys=alpha=tttttttttttttttttttttttttttttttttttttttttttt "
                    + "| CONSUMER_API_KEYS entry 1 (consumer 'alpha'): the key is one character repeated",
            "--cdc.auth.admin-token=tooShortSecretValue1tooShortSecretValue1 "
                    + "--cdc.auth.consumer-api-keys=beta=tooShortSecretValue1tooShortSecretValue1 "
                    + "| CONSUMER_API_KEYS entry 1 (consumer 'beta'): the key is ADMIN_TOKEN",
            "--cdc.auth.admin-token=tttttttttttttttttttttttttttttttttttttttttttt | ADMIN_TOKEN must be at least 32"})
    void unusableAuthSettingFailsStartupWithoutShowingTheSecret(String settings, String message,
                                                               CapturedOutput output) {
        assertThatThrownBy(() -> run(settings.split(" ")).close()).hasStackTraceContaining(message);
        assertThat(output.getAll()).contains(message).doesNotContain("tooShortSecretValue1")
                .doesNotContain("tttttttttttttttt");
    }

    /**
     * Settings checked late used to fail after Flyway had made the service's schema and capture was installed: each
     * must stop start-up before anything reaches the database.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--cdc.auth.admin-token=tooShortSecretValue1 | ADMIN_TOKEN must be at least 32 characters",
            "--cdc.auth.admin-token= | AUTH_MODE=api-key needs ADMIN_TOKEN",
            "--cdc.schedules=warehouse=weekly | EXPORT_SCHEDULES entry 'warehouse=weekly' is not",
            "--cdc.export-tables=a.b.c | EXPORT_TABLES entry 'a.b.c' is not [schema.]table",
            "--cdc.output-dir={file}/out | EXPORT_OUTPUT_DIR={file}/out is not a writable directory",
            "--cdc.file-mode=0777 | EXPORT_FILE_MODE='0777' must be an octal file mode",
            "--cdc.parallel.chunk-dir={file}/chunks | EXPORT_CHUNK_DIR={file}/chunks is not a usable directory",
            "--cdc.sink=s3 | S3_BUCKET is not set",
            "--cdc.iceberg.warehouse=gs://lake/tables | ICEBERG_WAREHOUSE='gs://lake/tables' is neither a directory",
            "--cdc.iceberg.catalog=rest | ICEBERG_REST_URI is not set: ICEBERG_CATALOG=rest needs",
            "--cdc.jobs.workers=0 | EXPORT_WORKERS='0'",
            "--spring.lifecycle.timeout-per-shutdown-phase=soon | EXPORT_SHUTDOWN_GRACE='soon'",
            "--logging.level.root=loud | LOG_LEVEL: must be one of trace, debug, info",
            "--cdc.log.format=xml | LOG_FORMAT='xml': must be one of auto, text, json"})
    void anInvalidSettingStopsStartupBeforeAnythingIsWrittenToTheDatabase(String setting, String message,
                                                                          @TempDir Path directory,
                                                                          CapturedOutput output) throws IOException {
        String file = Files.writeString(directory.resolve("a-file"), "not a directory").toString();
        String database = TestDatabase.scratchDatabase("untouched_in_process");
        try {
            // A healthy configuration but for the one setting (the same name twice would make a list of both).
            Map<String, String> settings = new LinkedHashMap<>(Map.of("--cdc.database-url", database,
                    "--cdc.auth.admin-token", "0123456789abcdef".repeat(2), "--cdc.seed-users", "0",
                    "--cdc.output-dir", directory.resolve("output").toString(),
                    "--cdc.parallel.parallelism", "2", "--cdc.parallel.readers", "4"));
            String[] bad = setting.replace("{file}", file).split("=", 2);
            settings.put(bad[0], bad[1]);
            assertThatThrownBy(() -> new SpringApplicationBuilder(CdcExportApplication.class)
                    .web(WebApplicationType.NONE)
                    .run(settings.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new))
                    .close())
                    .isNotNull();
            assertThat(output.getAll()).contains(message.replace("{file}", file));
            assertThat(TestDatabase.jdbc(database).queryForList("SELECT nspname FROM pg_namespace WHERE nspname "
                    + "NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast')", String.class))
                    .as("schemas made before the setting was found wrong").isEmpty();
            assertThat(TestDatabase.jdbc(database).queryForList("SELECT relname FROM pg_class c JOIN pg_namespace n "
                    + "ON n.oid = c.relnamespace WHERE n.nspname = 'public'", String.class))
                    .as("tables made before the setting was found wrong").isEmpty();
        } finally {
            TestDatabase.dropScratchDatabase(database);
        }
    }

    @Test
    void aPortOutsideTheRangeOrInUseIsRefusedBeforeAnythingStarts() throws IOException {
        assertThatThrownBy(() -> StartupChecks.checkPort("99999", null))
                .hasMessage("Invalid configuration: PORT='99999': must be between 0 and 65535 (0: any free port); "
                        + "fix PORT and start again");
        assertThatThrownBy(() -> StartupChecks.checkPort("-1", null)).hasMessageContaining("PORT='-1'");
        try (ServerSocket taken = new ServerSocket(0)) {
            assertThatThrownBy(() -> StartupChecks.checkPort(String.valueOf(taken.getLocalPort()), null))
                    .hasMessage("PORT=" + taken.getLocalPort() + " is already in use by another process; stop that "
                            + "process or set PORT to a free port");
        }
        StartupChecks.checkPort("0", null);
    }

    @Test
    void aMissingDatabaseFailsAtOnceAndARefusedConnectionWithinSeconds() throws IOException {
        DatabaseUrl test = DatabaseUrl.parse(TestDatabase.url());
        DatabaseUrl missing = new DatabaseUrl(test.jdbcUrl().replaceFirst("^(jdbc:postgresql://[^/]+/)[^?]*",
                "$1no_such_database"), test.username(), test.password());
        long started = System.nanoTime();
        assertThatThrownBy(() -> FirstConnection.check(missing)).hasMessage("DATABASE_URL: database "
                + "\"no_such_database\" does not exist; create it (createdb) or name an existing database in DATABASE_URL");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("no retries").isLessThan(Duration.ofSeconds(3));

        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        started = System.nanoTime();
        assertThatThrownBy(() -> FirstConnection.check(DatabaseUrl.parse("postgresql://u@127.0.0.1:" + closed + "/d")))
                .hasMessage("Cannot use the database of DATABASE_URL: Connection to 127.0.0.1:" + closed + " refused; "
                        + "check that PostgreSQL is running and DATABASE_URL names its host, port, database and user");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("retried briefly, as a server may be starting")
                .isBetween(FirstConnection.RETRY_FOR, FirstConnection.RETRY_FOR.plusSeconds(3));
    }

    @Test
    void authModeOffStartsWithAWarning(CapturedOutput output) {
        run("--cdc.auth.mode=off").close();
        assertThat(output.getAll()).contains("AUTH_MODE=off: /exports trusts the X-Consumer-ID header");
    }

    /** The service without its web server, on the test database. */
    private static ConfigurableApplicationContext run(String... settings) {
        List<String> args = new ArrayList<>(List.of(settings));
        args.addAll(List.of("--cdc.database-url=" + TestDatabase.url(), "--cdc.seed-users=0",
                "--cdc.output-dir=" + System.getProperty("java.io.tmpdir"), "--cdc.auth.rate-limit-per-minute=0"));
        return new SpringApplicationBuilder(CdcExportApplication.class)
                .web(WebApplicationType.NONE)
                .run(args.toArray(String[]::new));
    }
}
