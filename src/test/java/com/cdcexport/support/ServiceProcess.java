package com.cdcexport.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.springframework.util.FileSystemUtils;

/**
 * The packaged service (target/cdc-export-*.jar) running as a separate JVM, the way operators run it: for tests
 * that must kill it with SIGKILL, stop it with SIGTERM, or run two instances.
 */
public final class ServiceProcess implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final int port;

    private ServiceProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts the jar with DATABASE_URL pointing at the test database, SEED_USERS=0, AUTH_MODE=off, no rate limit
     * and a free PORT, plus
     * {@code environment}; returns once /health answers.
     */
    public static ServiceProcess start(Map<String, String> environment) {
        return launch(environment, Duration.ofSeconds(90));
    }

    /**
     * Two instances started at once, as a deployment starts its replicas; returns once both answer. Their start-ups
     * overlap instead of queueing, and neither is left running when the other fails to start.
     */
    public static ServiceProcess[] startTogether(Map<String, String> first, Map<String, String> second) {
        CompletableFuture<ServiceProcess> a = CompletableFuture.supplyAsync(() -> start(first));
        CompletableFuture<ServiceProcess> b = CompletableFuture.supplyAsync(() -> start(second));
        try {
            return new ServiceProcess[] {a.join(), b.join()};
        } catch (CompletionException e) {
            a.thenAccept(ServiceProcess::close);
            b.thenAccept(ServiceProcess::close);
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e.getCause() instanceof RuntimeException runtime ? runtime : e;
        }
    }

    /** Starts the jar as {@link #start} does and waits for it to exit on its own; returns its output. */
    public static String startExpectingExit(Map<String, String> environment) {
        ServiceProcess service = launch(environment, null);
        try {
            service.awaitExit(Duration.ofSeconds(90));
            return service.log();
        } finally {
            service.close();
        }
    }

    /** @param startup how long to wait for /health; null: do not wait */
    private static ServiceProcess launch(Map<String, String> environment, Duration startup) {
        Map<String, String> env = new HashMap<>(Map.of(
                "DATABASE_URL", TestDatabase.url(),
                "SEED_USERS", "0",
                "AUTH_MODE", "off",
                "RATE_LIMIT_PER_MINUTE", "0",
                "EXPORTS_PER_HOUR", "0",
                // each start would render the warm-up's rows (C1 only here: it would warm little)
                "EXPORT_WARM_UP_ROWS", "0",
                "PORT", String.valueOf(freePort())));
        env.putAll(environment);
        ProcessBuilder builder = containerCommand();
        builder.environment().putAll(env);
        return launch(builder, Integer.parseInt(env.get("PORT")), startup);
    }

    /**
     * Starts the jar as a newcomer does: in {@code directory}, with none of the service's settings (the environment
     * is PATH and HOME only) but {@code environment}, on a free PORT unless it names one.
     */
    public static ServiceProcess startIn(Path directory, Map<String, String> environment) {
        ProcessBuilder builder = command().directory(directory.toFile());
        builder.environment().keySet().retainAll(List.of("PATH", "HOME"));
        builder.environment().put("PORT", String.valueOf(freePort()));
        builder.environment().putAll(environment);
        // the first start unpacks PostgreSQL and seeds 100,000 users
        return launch(builder, Integer.parseInt(builder.environment().get("PORT")), Duration.ofSeconds(180));
    }

    private static ServiceProcess launch(ProcessBuilder builder, int port, Duration startup) {
        try {
            // Under target/, not /tmp: other jobs on a shared machine clean /tmp, and the logs outlive a failure.
            Path logs = Files.createDirectories(Path.of("target/service-logs").toAbsolutePath());
            Path log = Files.createTempFile(logs, "cdc-service-" + port + "-", ".log");
            builder.redirectErrorStream(true).redirectOutput(log.toFile());
            ServiceProcess service = new ServiceProcess(builder.start(), log, port);
            if (startup != null) {
                service.awaitHealthy(startup);
            }
            return service;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** java -jar target/cdc-export-*.jar, as operators run it. */
    public static ProcessBuilder command() {
        try {
            return new ProcessBuilder(javaBinary(), "-Xmx256m", "-jar", jar().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The same jar launched as the container image launches it (Dockerfile): extracted, with a CDS archive of the
     * classes a start-up loads, C1 only. A start to healthy then costs about 5 s of CPU instead of 30 s for
     * {@code java -jar} on the packed jar (measured on 2 cores), and the *IT tests start the service some sixty
     * times. What they test is the service, not how its jar is laid out; {@link #startIn}, the newcomer's launch
     * in ReadmeIT, keeps the packed jar.
     */
    public static ProcessBuilder containerCommand() {
        ContainerLaunch launch = ContainerLaunch.prepare();
        return new ProcessBuilder(javaBinary(), "-Xmx256m", "-XX:SharedArchiveFile=" + launch.archive(),
                "-XX:TieredStopAtLevel=1", "-jar", launch.jar().toString());
    }

    /** target/container-launch: the extracted jar and its CDS archive, made once per jar. */
    private record ContainerLaunch(Path jar, Path archive) {

        private static ContainerLaunch prepared;

        static synchronized ContainerLaunch prepare() {
            if (prepared == null) {
                try {
                    prepared = build(ServiceProcess.jar(), Path.of("target/container-launch").toAbsolutePath());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return prepared;
        }

        private static ContainerLaunch build(Path packed, Path directory) throws IOException {
            Path extracted = directory.resolve("extracted");
            Path archive = directory.resolve("app.jsa");
            Path stamp = directory.resolve("made-from");
            // A rebuilt jar needs its own archive: the JVM refuses one made for other class files.
            String source = packed + " " + Files.getLastModifiedTime(packed).toMillis() + " " + Files.size(packed);
            Path jar = extracted.resolve(packed.getFileName());
            if (Files.isRegularFile(archive) && Files.isRegularFile(stamp) && Files.readString(stamp).equals(source)) {
                return new ContainerLaunch(jar, archive);
            }
            FileSystemUtils.deleteRecursively(directory);
            Files.createDirectories(directory);
            run(new ProcessBuilder(javaBinary(), "-Djarmode=tools", "-jar", packed.toString(), "extract",
                    "--destination", extracted.toString()), directory.resolve("extract.log"), Map.of());

            // The Dockerfile's training run: the context starts once and the JVM exits, writing the archive. A
            // scratch database of its own, so it neither sees nor claims the tests' jobs.
            String database = TestDatabase.scratchDatabase("cds_training");
            Path output = Files.createDirectories(directory.resolve("training-output"));
            try {
                run(new ProcessBuilder(javaBinary(), "-Xmx256m", "-XX:ArchiveClassesAtExit=" + archive,
                                "-XX:TieredStopAtLevel=1", "-Dspring.context.exit=onRefresh", "-jar", jar.toString()),
                        directory.resolve("training.log"), Map.of("DATABASE_URL", database, "SEED_USERS", "0",
                                "AUTH_MODE", "off", "EXPORT_OUTPUT_DIR", output.toString(),
                                "PORT", String.valueOf(freePort())));
            } finally {
                TestDatabase.dropScratchDatabase(database);
            }
            if (!Files.isRegularFile(archive)) {
                throw new IllegalStateException("the training run wrote no CDS archive; see "
                        + directory.resolve("training.log"));
            }
            Files.writeString(stamp, source);
            return new ContainerLaunch(jar, archive);
        }

        private static void run(ProcessBuilder builder, Path log, Map<String, String> environment)
                throws IOException {
            builder.environment().putAll(environment);
            Process process = builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                if (!process.waitFor(3, TimeUnit.MINUTES)) {
                    process.destroyForcibly();
                    throw new IllegalStateException(builder.command() + " did not finish; see " + log);
                }
                if (process.exitValue() != 0) {
                    throw new IllegalStateException(builder.command() + " failed with " + process.exitValue()
                            + ":\n" + Files.readString(log));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    public int port() {
        return port;
    }

    /** The JVM's process id (the jar runs as a direct child). */
    public long pid() {
        return process.pid();
    }

    public Api api() {
        return new Api(port);
    }

    /** SIGKILL: no shutdown hooks, no cleanup, like a power cut or the OOM killer. */
    public void kill() {
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(30));
    }

    /** SIGTERM, as docker stop sends; returns the exit code. */
    public int terminate(Duration timeout) {
        process.destroy();
        return awaitExit(timeout);
    }

    /** SIGTERM without waiting: the service drains while the test goes on. */
    public void sendTerminate() {
        process.destroy();
    }

    /** SIGSTOP: the whole JVM freezes mid-step (a long GC pause, a frozen VM): no heartbeats, no progress. */
    public void suspend() {
        signal("STOP");
    }

    /** SIGCONT: the frozen JVM carries on where it stopped. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            int exit = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).inheritIO().start()
                    .waitFor();
            if (exit != 0) {
                throw new IllegalStateException("kill -" + name + " failed with " + exit);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** Until the service has logged {@code text} (60 s at most, then an assertion error with the log). */
    public void awaitLog(String text) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (log().contains(text)) {
                return;
            }
            IntegrationTest.sleep(20);
        }
        throw new AssertionError("never logged " + text + "; log:\n" + log());
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }

    /** Waits for the process to end and returns its exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("service did not exit within " + timeout + "; log:\n" + tail());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("service exited during start-up; log:\n" + tail());
            }
            try {
                if (api().get("/health", null).status() == 200) {
                    return;
                }
            } catch (RuntimeException notYet) {
                // not listening yet
            }
            IntegrationTest.sleep(100);
        }
        close();
        throw new AssertionError("service not healthy within " + timeout + "; log:\n" + tail());
    }

    private String tail() {
        List<String> lines = log().lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static Path jar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("target").toAbsolutePath())) {
            return files.filter(p -> p.getFileName().toString().matches("cdc-export-.*\\.jar"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no target/cdc-export-*.jar: run ./mvnw verify, "
                            + "which packages the jar before the *IT tests"));
        }
    }

    static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
