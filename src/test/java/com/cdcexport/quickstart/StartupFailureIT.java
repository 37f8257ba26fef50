package com.cdcexport.quickstart;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.cdcexport.support.S3MockProcess;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/**
 * Every configuration error the service knows stops the packaged jar within seconds with exactly one line on stderr
 * that names the setting and says what to do, no stack trace anywhere (the chain is at DEBUG), and nothing written to
 * the database it was given.
 */
class StartupFailureIT {

    private static final String TOKEN = "0123456789abcdef0123456789abcdef";

    @TempDir
    Path directory;

    /** Killed when the test ends, whatever happened: a process left running would hold its port and CPU. */
    private final List<Process> processes = new CopyOnWriteArrayList<>();

    @AfterEach
    void killLeftovers() {
        processes.forEach(Process::destroyForcibly);
    }

    /**
     * How much longer than the run's median failure (a JVM start and a check: 5 to 30 s here, three at a time on 2
     * cores with a load of 13) a failure that waits for the database may take: the pool's retries added 30 s, which
     * this bound catches. Refused connections are retried for 5 s now; a missing database or a wrong password not at
     * all (StartupConfigurationTest and EmbeddedDatabaseTest time the connection itself, to the second).
     */
    private static final Duration PROMPTLY = Duration.ofSeconds(25);

    /**
     * The failures that used to wait for the database (the pool's 30 s of retries, or everything started first), and
     * a warehouse bucket that is missing (its check must not wait for S3FileIO's retries).
     */
    private static final List<String> TIMED = List.of("database unreachable", "database does not exist",
            "port out of range", "port in use", "missing Iceberg warehouse bucket");

    private record Failure(String name, Map<String, String> environment, String expected) {
    }

    private record Outcome(Failure failure, int exitCode, String stdout, String stderr, Duration took) {
    }

    @Test
    void everyConfigurationErrorIsOneLineOnStderrNamingTheSetting() throws Exception {
        Path aFile = Files.writeString(directory.resolve("a-file"), "not a directory");
        // Every case but the unreachable ones points at this empty database: none may write to it.
        String database = TestDatabase.scratchDatabase("untouched");
        String missing = database.replace("_untouched", "_missing");
        int freePort = ServiceProcess.freePort();
        String nowhere = "http://127.0.0.1:" + ServiceProcess.freePort();
        try (ServerSocket taken = new ServerSocket(0); S3MockProcess s3 = S3MockProcess.start("exists")) {
            List<Failure> failures = List.of(
                    new Failure("database unreachable",
                            env("DATABASE_URL", "postgresql://postgres@127.0.0.1:" + freePort + "/cdc"),
                            "Cannot use the database of DATABASE_URL: Connection to 127.0.0.1:" + freePort + " refused"),
                    new Failure("database does not exist", env("DATABASE_URL", missing),
                            "DATABASE_URL: database \"" + missing.replaceFirst("^jdbc:postgresql://[^/]+/([^?]*).*$", "$1")
                                    + "\" does not exist; create it"),
                    new Failure("port out of range", env("PORT", "99999", "DATABASE_URL", database),
                            "Invalid configuration: PORT='99999': must be between 0 and 65535 (0: any free port); fix PORT"),
                    new Failure("negative SEED_USERS", env("SEED_USERS", "-5", "DATABASE_URL", database),
                            "Invalid configuration: SEED_USERS='-5': must be greater than or equal to 0; fix SEED_USERS"),
                    new Failure("unknown LOG_FORMAT", env("LOG_FORMAT", "xml", "DATABASE_URL", database),
                            "Invalid configuration: LOG_FORMAT='xml': must be one of auto, text, json"),
                    new Failure("not a PostgreSQL URL", env("DATABASE_URL", "mysql://u:secretpw@h/d"),
                            "DATABASE_URL is not a PostgreSQL URL"),
                    new Failure("no database: the embedded one cannot be created",
                            env("EMBEDDED_DATA_DIR", aFile.resolve("postgres").toString()),
                            "set EMBEDDED_DATA_DIR elsewhere, or set DATABASE_URL"),
                    new Failure("port in use", env("PORT", String.valueOf(taken.getLocalPort()), "DATABASE_URL", database),
                            "PORT=" + taken.getLocalPort() + " is already in use by another process; stop that process or set PORT"),
                    new Failure("unwritable output directory",
                            env("EXPORT_OUTPUT_DIR", aFile.resolve("out").toString(), "DATABASE_URL", database),
                            "EXPORT_OUTPUT_DIR=" + aFile.resolve("out") + " is not a writable directory ("
                                    + aFile.resolve("out") + ": not a directory): make it writable"),
                    new Failure("unknown EXPORT_SINK", env("EXPORT_SINK", "ftp", "DATABASE_URL", database),
                            "Invalid configuration: EXPORT_SINK='ftp': must be one of local, s3"),
                    new Failure("S3 sink without a bucket", env("EXPORT_SINK", "s3", "AWS_EC2_METADATA_DISABLED", "true",
                            "DATABASE_URL", database),
                            "S3_BUCKET is not set: EXPORT_SINK=s3 needs the bucket to write to"),
                    new Failure("missing S3 bucket", s3Env(s3.endpoint(), "no-such-bucket", database),
                            "S3_BUCKET=no-such-bucket does not exist at S3_ENDPOINT=" + s3.endpoint()
                                    + ": create it or set S3_BUCKET to an existing bucket"),
                    new Failure("missing Iceberg warehouse bucket", env("ICEBERG_WAREHOUSE",
                            "s3://no-such-bucket/tables", "S3_ENDPOINT", s3.endpoint(), "S3_PATH_STYLE", "true",
                            "AWS_REGION", "us-east-1", "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY",
                            "secretpw", "DATABASE_URL", database),
                            "bucket no-such-bucket of ICEBERG_WAREHOUSE=s3://no-such-bucket/tables does not exist at "
                                    + "S3_ENDPOINT=" + s3.endpoint() + ": create it or point ICEBERG_WAREHOUSE at an "
                                    + "existing bucket"),
                    new Failure("S3 endpoint unreachable", s3Env(nowhere, "exists", database),
                            "Cannot reach S3 at S3_ENDPOINT=" + nowhere + " for S3_BUCKET=exists: "),
                    new Failure("no AWS credentials", env("EXPORT_SINK", "s3", "S3_BUCKET", "exists", "S3_ENDPOINT",
                            s3.endpoint(), "S3_PATH_STYLE", "true", "AWS_REGION", "us-east-1",
                            // never ask a cloud's instance metadata address from a test
                            "AWS_EC2_METADATA_DISABLED", "true", "DATABASE_URL", database),
                            "No AWS credentials for S3_BUCKET=exists: set AWS_ACCESS_KEY_ID and "
                                    + "AWS_SECRET_ACCESS_KEY"),
                    new Failure("missing auth", Map.of("DATABASE_URL", database, "SEED_USERS", "0"),
                            "AUTH_MODE=api-key needs ADMIN_TOKEN (to create consumers and keys) or CONSUMER_API_KEYS"));

            // Three at a time: each fails within seconds.
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<Future<Outcome>> outcomes = new ArrayList<>();
            for (Failure failure : failures) {
                outcomes.add(pool.submit(() -> start(failure)));
            }
            pool.shutdown();

            List<Outcome> done = new ArrayList<>();
            for (Future<Outcome> future : outcomes) {
                done.add(future.get(10, TimeUnit.MINUTES));
            }
            Duration median = done.stream().map(Outcome::took).sorted().toList().get(done.size() / 2);
            SoftAssertions softly = new SoftAssertions();
            for (Outcome outcome : done) {
                String name = outcome.failure().name();
                softly.assertThat(outcome.exitCode()).as(name + ": exit code").isNotZero();
                // Not singleElement(): in soft mode it yields null on failure, and the NPE would hide the other cases.
                softly.assertThat(outcome.stderr().lines().count()).as(name + ": lines on stderr:\n" + outcome.stderr())
                        .isEqualTo(1);
                softly.assertThat(outcome.stderr().strip()).as(name + ": stderr")
                        .startsWith("Cannot start: ").contains(outcome.failure().expected())
                        .doesNotContain("secretpw");
                softly.assertThat(outcome.stdout() + outcome.stderr()).as(name + ": no stack trace")
                        .doesNotContain("\tat ").doesNotContain("Exception:").doesNotContain("APPLICATION FAILED");
                if (TIMED.contains(name)) {
                    softly.assertThat(outcome.took()).as(name + ": how long until it stopped (the median: " + median
                            + ")").isLessThan(median.plus(PROMPTLY));
                }
            }
            softly.assertThat(TestDatabase.jdbc(database).queryForList("SELECT n.nspname || '.' || c.relname "
                            + "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            + "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')", String.class))
                    .as("tables a failed start-up left in the database").isEmpty();
            softly.assertThat(TestDatabase.jdbc(database).queryForList("SELECT nspname FROM pg_namespace "
                            + "WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast')", String.class))
                    .as("schemas a failed start-up left in the database").isEmpty();
            softly.assertAll();
        } finally {
            TestDatabase.dropScratchDatabase(database);
        }
    }

    /** The S3 sink on {@code endpoint}; the secret key is "secretpw", which no output may show. */
    private static Map<String, String> s3Env(String endpoint, String bucket, String database) {
        return env("EXPORT_SINK", "s3", "S3_BUCKET", bucket, "S3_ENDPOINT", endpoint, "S3_PATH_STYLE", "true",
                "AWS_REGION", "us-east-1", "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secretpw",
                "DATABASE_URL", database);
    }

    /** A healthy configuration but for {@code settings} (auth set, no seeding), so only the failure speaks. */
    private static Map<String, String> env(String... settings) {
        Map<String, String> environment = new LinkedHashMap<>(Map.of("ADMIN_TOKEN", TOKEN, "SEED_USERS", "0"));
        for (int i = 0; i < settings.length; i += 2) {
            environment.put(settings[i], settings[i + 1]);
        }
        return environment;
    }

    private Outcome start(Failure failure) throws IOException, InterruptedException {
        Path run = Files.createTempDirectory(directory, "run-");
        // The container's launch (C1 only, a CDS archive): these runs are all start-up.
        ProcessBuilder builder = ServiceProcess.containerCommand().directory(run.toFile());
        builder
                .redirectOutput(run.resolve("stdout").toFile())
                .redirectError(run.resolve("stderr").toFile());
        builder.environment().keySet().retainAll(List.of("PATH", "HOME"));
        builder.environment().put("PORT", String.valueOf(ServiceProcess.freePort()));
        builder.environment().putAll(failure.environment());
        long started = System.nanoTime();
        Process process = builder.start();
        processes.add(process);
        if (!process.waitFor(4, TimeUnit.MINUTES)) {
            throw new AssertionError(failure.name() + ": still running after 4 minutes; stdout:\n"
                    + Files.readString(run.resolve("stdout")));
        }
        return new Outcome(failure, process.exitValue(), Files.readString(run.resolve("stdout")),
                Files.readString(run.resolve("stderr")), Duration.ofNanos(System.nanoTime() - started));
    }
}
