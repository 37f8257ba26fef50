package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
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
            "cdc.parallel.readers, -2, EXPORT_READERS"})
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
