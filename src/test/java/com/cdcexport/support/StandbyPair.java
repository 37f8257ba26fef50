package com.cdcexport.support;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
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
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.sql.DataSource;

import org.flywaydb.core.Flyway;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.FileSystemUtils;

import com.cdcexport.config.DatabaseUrl;
import com.cdcexport.config.EmbeddedDatabase;
import com.cdcexport.export.capture.CapturedTables;

/**
 * A real PostgreSQL primary and a hot standby streaming from it, for the tests of exports read on a standby (issue
 * 26). One pair per JVM, started on first use and stopped (its directories deleted) when the JVM exits.
 * <p>
 * The pair is TEST_PRIMARY_URL and TEST_STANDBY_URL when both are set (an external pair: everything done through SQL
 * works, stopping and restarting the standby does not), else one started here without Docker: initdb of a primary
 * with replication allowed from localhost, {@code pg_basebackup -R -X stream} of it into the standby's directory,
 * each server on a free port of 127.0.0.1. The primary is prepared as {@link TestDatabase#jdbc()} prepares the test
 * database (the service's migrations, the application's tables, users created and every test table captured), so
 * the standby has all of it too.
 * <p>
 * The binaries are TEST_PG_BIN's (a PostgreSQL installation's bin directory, or {@code embedded}), else Debian's
 * {@value #DEBIAN_BIN} when installed, else the build's embedded binaries (zonky), unpacked here. Those hold initdb,
 * pg_ctl and postgres only, no pg_basebackup: with them the standby is copied through SQL instead
 * ({@code pg_backup_start}, a copy of the data directory, {@code pg_backup_stop}: what pg_basebackup does over the
 * replication protocol), with the same slot and recovery settings as {@code -R}. As root, every
 * program runs as {@value #SERVER_USER} through setpriv, as {@code EmbeddedDatabase} runs the service's own server
 * (PostgreSQL refuses root), with the directories where {@link OpenDirectories} says that user can reach them.
 * <p>
 * Settings that outlive a test: {@link #configureStandby} changes the standby's conflict settings for every later
 * test of the JVM, so a test that needs particular ones sets both; a paused replay is resumed by
 * {@link #resumeReplay()} or by any restart of the standby.
 */
public final class StandbyPair {

    /** The standby's max_standby_streaming_delay until a test sets another: PostgreSQL's default. */
    public static final Duration DEFAULT_STREAMING_DELAY = Duration.ofSeconds(30);

    static final String DEBIAN_BIN = "/usr/lib/postgresql/15/bin";
    private static final String SERVER_USER = "nobody";
    private static final String DATABASE = "postgres";
    private static final String ROLE = "postgres";
    /** The standby's physical slot on the primary. */
    static final String SLOT = "standby_pair";
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static Pair pair;

    private StandbyPair() {
    }

    /** The primary's URL in the form DATABASE_URL accepts ({@code postgresql://user@host:port/database}). */
    public static String primaryUrl() {
        return pair().primaryUrl;
    }

    /** The standby's URL in the form DATABASE_URL (and DATABASE_READ_URL) accepts. */
    public static String standbyUrl() {
        return pair().standbyUrl;
    }

    /** A client of the primary; unqualified names find the service's tables, then the user's (as TestDatabase). */
    public static JdbcTemplate primaryJdbc() {
        return pair().primaryJdbc;
    }

    /** A client of the standby (read only); unqualified names as {@link #primaryJdbc()}. */
    public static JdbcTemplate standbyJdbc() {
        return pair().standbyJdbc;
    }

    /** A connection of its own to the primary, with the search path of {@link #primaryJdbc()}. */
    public static Connection connectPrimary() throws SQLException {
        return connect(pair().primaryUrl);
    }

    /** A connection of its own to the standby, for transactions (snapshots) held across statements. */
    public static Connection connectStandby() throws SQLException {
        return connect(pair().standbyUrl);
    }

    /** Whether the pair was started here (so the standby can be stopped and restarted), not given by URLs. */
    public static boolean isLocal() {
        return pair().local != null;
    }

    /**
     * Sets the standby's recovery-conflict settings (reloaded, no restart) and returns once a new session sees them.
     * With hot_standby_feedback off, a query on the standby that still needs rows the primary's vacuum removed is
     * cancelled once replay has waited {@code maxStandbyStreamingDelay} for it; with it on, the primary keeps them.
     */
    public static void configureStandby(boolean hotStandbyFeedback, Duration maxStandbyStreamingDelay) {
        Pair p = pair();
        String delay = maxStandbyStreamingDelay.toMillis() + "ms";
        String feedback = hotStandbyFeedback ? "on" : "off";
        p.standbyJdbc.execute("ALTER SYSTEM SET hot_standby_feedback = " + feedback);
        p.standbyJdbc.execute("ALTER SYSTEM SET max_standby_streaming_delay = '" + delay + "'");
        p.standbyJdbc.execute("SELECT pg_reload_conf()");
        long deadline = System.nanoTime() + WAIT.toNanos();
        // A new session reads the configuration the postmaster has reloaded; the startup and walreceiver processes
        // get the same signal at the same time, so a short pause more lets them act on it.
        while (!(feedback.equals(p.standbyJdbc.queryForObject("SHOW hot_standby_feedback", String.class))
                && Long.valueOf(maxStandbyStreamingDelay.toMillis()).equals(p.standbyJdbc.queryForObject(
                        "SELECT setting::bigint FROM pg_settings WHERE name = 'max_standby_streaming_delay'",
                        Long.class)))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the standby did not take hot_standby_feedback=" + feedback
                        + ", max_standby_streaming_delay=" + delay + " within " + WAIT.toSeconds() + " s");
            }
            IntegrationTest.sleep(10);
        }
        IntegrationTest.sleep(200);
    }

    /** Pauses WAL replay on the standby (it still receives WAL) and returns once replay has stopped. */
    public static void pauseReplay() {
        Pair p = pair();
        p.standbyJdbc.execute("SELECT pg_wal_replay_pause()");
        long deadline = System.nanoTime() + WAIT.toNanos();
        long nudgeAt = System.nanoTime() + Duration.ofMillis(200).toNanos();
        while (!"paused".equals(pauseState(p))) {
            if (System.nanoTime() > nudgeAt) {
                // Replay pauses between records; with no WAL coming it may wait in "pause requested": a commit of
                // an empty transaction on the primary gives it one.
                p.primaryJdbc.execute("SELECT pg_current_xact_id()");
                nudgeAt = System.nanoTime() + Duration.ofMillis(500).toNanos();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the standby's replay did not pause within " + WAIT.toSeconds()
                        + " s (state: " + pauseState(p) + ")");
            }
            IntegrationTest.sleep(5);
        }
    }

    /** Resumes WAL replay on the standby and returns once it no longer says paused. */
    public static void resumeReplay() {
        Pair p = pair();
        p.standbyJdbc.execute("SELECT pg_wal_replay_resume()");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!"not paused".equals(pauseState(p))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the standby's replay did not resume within " + WAIT.toSeconds()
                        + " s (state: " + pauseState(p) + ")");
            }
            IntegrationTest.sleep(5);
        }
    }

    /** {@code pg_get_wal_replay_pause_state()} of the standby: not paused, pause requested or paused. */
    public static String replayPauseState() {
        return pauseState(pair());
    }

    /**
     * Waits until the standby has replayed the primary's WAL up to its {@code pg_current_wal_lsn()} taken now: what
     * was committed on the primary before the call is visible to new snapshots on the standby. Fails at once while
     * replay is paused (it would never get there), and after {@code 60 s} otherwise.
     */
    public static void awaitReplayed() {
        Pair p = pair();
        awaitReplayed(p.primaryJdbc, p.standbyJdbc);
    }

    /** {@link #awaitReplayed()} of any pair. */
    static void awaitReplayed(JdbcTemplate primary, JdbcTemplate standby) {
        String target = primary.queryForObject("SELECT pg_current_wal_lsn()::text", String.class);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!standby.queryForObject("SELECT coalesce(pg_last_wal_replay_lsn() >= ?::pg_lsn, false)",
                Boolean.class, target)) {
            String state = standby.queryForObject("SELECT pg_get_wal_replay_pause_state()", String.class);
            if (!"not paused".equals(state)) {
                throw new IllegalStateException("the standby cannot replay up to " + target + ": its replay is "
                        + state + " (resumeReplay() first)");
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the standby did not replay up to " + target + " within "
                        + WAIT.toSeconds() + " s (replayed: " + standby.queryForObject(
                                "SELECT pg_last_wal_replay_lsn()::text", String.class) + ")");
            }
            IntegrationTest.sleep(2);
        }
    }

    /**
     * Waits until the standby has received (not necessarily replayed) the primary's WAL up to its current position:
     * with replay paused, what the primary committed has then reached the standby and is held back by the pause
     * alone.
     */
    public static void awaitReceived() {
        Pair p = pair();
        String target = p.primaryJdbc.queryForObject("SELECT pg_current_wal_lsn()::text", String.class);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!p.standbyJdbc.queryForObject("SELECT coalesce(pg_last_wal_receive_lsn() >= ?::pg_lsn, false)",
                Boolean.class, target)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the standby did not receive the WAL up to " + target + " within "
                        + WAIT.toSeconds() + " s");
            }
            IntegrationTest.sleep(2);
        }
    }

    /** How many bytes of the primary's WAL (its current position) the standby has yet to replay; 0 when caught up. */
    public static long replayLagBytes() {
        Pair p = pair();
        String current = p.primaryJdbc.queryForObject("SELECT pg_current_wal_lsn()::text", String.class);
        return p.standbyJdbc.queryForObject("SELECT greatest(0, coalesce(pg_wal_lsn_diff(?::pg_lsn, "
                + "pg_last_wal_replay_lsn()), 0))::bigint", Long.class, current);
    }

    /**
     * Stops the standby (fast: its sessions are disconnected) and starts it again, returning once it accepts
     * connections in recovery. A paused replay is not paused after it.
     */
    public static void restartStandby() {
        Local local = local("restartStandby");
        local.stop(local.standbyData, "fast");
        local.startStandby();
    }

    /** Stops the standby (fast: its sessions are disconnected); the primary keeps its WAL for it (a slot). */
    public static void stopStandby() {
        Local local = local("stopStandby");
        local.stop(local.standbyData, "fast");
    }

    /** Starts the standby stopped by {@link #stopStandby()}, returning once it accepts connections in recovery. */
    public static void startStandby() {
        local("startStandby").startStandby();
    }

    private static Local local(String operation) {
        Local local = pair().local;
        if (local == null) {
            throw new UnsupportedOperationException(operation + "() needs the pair StandbyPair starts itself: "
                    + "TEST_PRIMARY_URL and TEST_STANDBY_URL name an external pair, whose standby this JVM cannot "
                    + "stop or start (unset them to run such a test)");
        }
        return local;
    }

    private static String pauseState(Pair p) {
        return p.standbyJdbc.queryForObject("SELECT pg_get_wal_replay_pause_state()", String.class);
    }

    private static Connection connect(String url) throws SQLException {
        DatabaseUrl parsed = DatabaseUrl.parse(url);
        return DriverManager.getConnection(withSearchPath(parsed.jdbcUrl()), parsed.username(), parsed.password());
    }

    private static String withSearchPath(String jdbcUrl) {
        return jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "currentSchema=" + TestDatabase.SCHEMA + ",public";
    }

    static DataSource dataSource(String url) {
        DatabaseUrl parsed = DatabaseUrl.parse(url);
        return new SimpleDriverDataSource(new org.postgresql.Driver(), withSearchPath(parsed.jdbcUrl()),
                parsed.username(), parsed.password());
    }

    private static synchronized Pair pair() {
        if (pair == null) {
            pair = resolve();
        }
        return pair;
    }

    private static Pair resolve() {
        String primary = System.getenv("TEST_PRIMARY_URL");
        String standby = System.getenv("TEST_STANDBY_URL");
        boolean primarySet = primary != null && !primary.isBlank();
        boolean standbySet = standby != null && !standby.isBlank();
        if (primarySet != standbySet) {
            throw new IllegalStateException("TEST_PRIMARY_URL and TEST_STANDBY_URL go together (an external pair: "
                    + "a primary and a hot standby streaming from it); set both or neither");
        }
        Pair resolved;
        if (primarySet) {
            resolved = new Pair(primary, standby, null);
        } else {
            Local local = new Local();
            try {
                local.start();
            } catch (IOException | RuntimeException e) {
                local.close();
                throw new IllegalStateException("Could not start a PostgreSQL primary and hot standby for the tests "
                        + "(" + e.getMessage() + "); logs in " + local.base + " are deleted at exit. Set TEST_PG_BIN "
                        + "to a PostgreSQL installation's bin directory (with pg_basebackup), or TEST_PRIMARY_URL and "
                        + "TEST_STANDBY_URL to an existing pair", e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(local::close, "standby-pair-stop"));
            resolved = new Pair(local.url(local.primaryPort), local.url(local.standbyPort), local);
        }
        prepare(resolved.primaryJdbc.getDataSource());
        // The preparation reaches the standby before the first test reads it.
        String target = resolved.primaryJdbc.queryForObject("SELECT pg_current_wal_lsn()::text", String.class);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!resolved.standbyJdbc.queryForObject("SELECT coalesce(pg_last_wal_replay_lsn() >= ?::pg_lsn, false)",
                Boolean.class, target)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the standby " + resolved.standbyUrl + " does not replay the "
                        + "primary " + resolved.primaryUrl + " (not up to " + target + " within "
                        + WAIT.toSeconds() + " s)");
            }
            IntegrationTest.sleep(5);
        }
        return resolved;
    }

    /** As TestDatabase prepares the test database: the service's schema, the application's tables, all captured. */
    private static void prepare(DataSource primary) {
        Flyway.configure().dataSource(primary).locations("classpath:db/migration").schemas(TestDatabase.SCHEMA)
                .defaultSchema(TestDatabase.SCHEMA).createSchemas(true).load().migrate();
        new JdbcTemplate(primary).execute(TestDatabase.APP_TABLES_SQL);
        new CapturedTables(JdbcClient.create(primary),
                new TransactionTemplate(new DataSourceTransactionManager(primary)), TestDatabase.SCHEMA,
                TestDatabase.EXPORT_TABLES);
    }

    private static final class Pair {
        final String primaryUrl;
        final String standbyUrl;
        final JdbcTemplate primaryJdbc;
        final JdbcTemplate standbyJdbc;
        final Local local;

        Pair(String primaryUrl, String standbyUrl, Local local) {
            this.primaryUrl = primaryUrl;
            this.standbyUrl = standbyUrl;
            this.primaryJdbc = new JdbcTemplate(dataSource(primaryUrl));
            this.standbyJdbc = new JdbcTemplate(dataSource(standbyUrl));
            this.local = local;
        }
    }

    /** Where a {@link Local} pair's programs come from, unpacked or found under its base directory. */
    @FunctionalInterface
    interface Binaries {
        Path bin(Path base) throws IOException;
    }

    /**
     * The two servers started here: their programs, directories and ports. The pair of this class's tests by
     * default; {@link FailoverPair}'s with other binaries and settings added to the standby's.
     */
    static final class Local {
        private final String prefix;
        private final Binaries binaries;
        private final String standbySettings;
        private final String conninfoOptions;
        Path base;
        Path bin;
        Path primaryData;
        Path standbyData;
        Path commandLog;
        int primaryPort;
        int standbyPort;
        /** setpriv's arguments when the programs run as {@value #SERVER_USER}, else empty. */
        List<String> asServerUser = List.of();
        private final List<Path> running = new ArrayList<>();

        Local() {
            this("standby-pair-", Local::binaries, "", "");
        }

        /**
         * @param standbySettings lines added last to the standby's postgresql.conf (they win)
         * @param conninfoOptions added to the standby's primary_conninfo (a copy through SQL only)
         */
        Local(String prefix, Binaries binaries, String standbySettings, String conninfoOptions) {
            this.prefix = prefix;
            this.binaries = binaries;
            this.standbySettings = standbySettings;
            this.conninfoOptions = conninfoOptions;
        }

        void start() throws IOException {
            base = OpenDirectories.create(prefix);
            commandLog = base.resolve("commands.log");
            bin = binaries.bin(base);
            if ((Integer) Files.getAttribute(base, "unix:uid") == 0) {
                int[] ids = serverUserIds();
                asServerUser = List.of("setpriv", "--reuid=" + ids[0], "--regid=" + ids[1], "--clear-groups",
                        "--inh-caps=-all", "--no-new-privs");
                // The server user creates both data directories and writes the server logs here.
                Files.setAttribute(base, "unix:uid", ids[0], LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(base, "unix:gid", ids[1], LinkOption.NOFOLLOW_LINKS);
            }
            primaryData = base.resolve("primary");
            standbyData = base.resolve("standby");
            primaryPort = freePort();
            do {
                standbyPort = freePort();
            } while (standbyPort == primaryPort);

            run("initdb", "-D", primaryData.toString(), "-U", ROLE, "-A", "trust", "-E", "UTF8", "--locale=C",
                    "--no-sync");
            Files.writeString(primaryData.resolve("pg_hba.conf"), """
                    # StandbyPair: a test server on loopback TCP only, trusted, replication included.
                    host all         all 127.0.0.1/32 trust
                    host all         all ::1/128      trust
                    host replication all 127.0.0.1/32 trust
                    host replication all ::1/128      trust
                    """);
            append(primaryData.resolve("postgresql.conf"), """

                    # StandbyPair
                    listen_addresses = '127.0.0.1'
                    port = %d
                    unix_socket_directories = ''
                    max_connections = 300
                    timezone = 'UTC'
                    # logical: the log-based capture tests read on the standby too; a superset of replica.
                    wal_level = logical
                    max_wal_senders = 10
                    max_replication_slots = 10
                    hot_standby = on
                    # Throwaway test data: no fsync, for speed (a crash of the machine loses nothing of value).
                    fsync = off
                    # The standby's replies (replay position, hot_standby_feedback) every second, not every ten.
                    wal_receiver_status_interval = 1s
                    """.replace("%d", String.valueOf(primaryPort)));
            startServer(primaryData, "primary.log");

            if (Files.isExecutable(bin.resolve("pg_basebackup"))) {
                // -C -S: a slot of the standby's, so the primary keeps the WAL a stopped or lagging standby needs.
                run("pg_basebackup", "-h", "127.0.0.1", "-p", String.valueOf(primaryPort), "-U", ROLE,
                        "-D", standbyData.toString(), "-R", "-X", "stream", "-C", "-S", SLOT, "-c", "fast",
                        "--no-sync");
            } else {
                copyThroughSql();
            }
            // postgresql.conf is the primary's copy: later lines win.
            append(standbyData.resolve("postgresql.conf"), """

                    # StandbyPair: the standby
                    port = %d
                    hot_standby = on
                    hot_standby_feedback = off
                    max_standby_streaming_delay = %sms
                    """.replace("%d", String.valueOf(standbyPort))
                    .replace("%s", String.valueOf(DEFAULT_STREAMING_DELAY.toMillis())) + standbySettings);
            startStandby();
        }

        String url(int port) {
            return "postgresql://" + ROLE + "@127.0.0.1:" + port + "/" + DATABASE;
        }

        void startStandby() {
            try {
                startServer(standbyData, "standby.log");
            } catch (IOException e) {
                throw new IllegalStateException("the standby did not start: " + e.getMessage(), e);
            }
            // pg_ctl -w returns once the standby accepts connections (consistent, hot standby on); this also proves
            // it is in recovery, which a wrongly promoted copy would not be.
            long deadline = System.nanoTime() + WAIT.toNanos();
            String jdbcUrl = DatabaseUrl.parse(url(standbyPort)).jdbcUrl();
            while (true) {
                try (Connection connection = DriverManager.getConnection(jdbcUrl, ROLE, null);
                        var result = connection.createStatement().executeQuery("SELECT pg_is_in_recovery()")) {
                    result.next();
                    if (result.getBoolean(1)) {
                        return;
                    }
                    throw new IllegalStateException("the standby on port " + standbyPort + " is not in recovery");
                } catch (SQLException e) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the standby on port " + standbyPort + " accepts no "
                                + "connections: " + e.getMessage() + "\n" + tail(base.resolve("standby.log")), e);
                    }
                    IntegrationTest.sleep(20);
                }
            }
        }

        private void startServer(Path data, String log) throws IOException {
            run("pg_ctl", "-D", data.toString(), "-l", base.resolve(log).toString(), "-w",
                    "-t", String.valueOf(WAIT.toSeconds()), "start");
            synchronized (running) {
                running.add(data);
            }
        }

        void stop(Path data, String mode) {
            try {
                run("pg_ctl", "-D", data.toString(), "-m", mode, "-w", "-t", String.valueOf(WAIT.toSeconds()), "stop");
            } catch (IOException e) {
                throw new IllegalStateException("could not stop the server in " + data + ": " + e.getMessage(), e);
            }
            synchronized (running) {
                running.remove(data);
            }
        }

        /** At exit, or after a failed start: both servers stopped at once (their data is thrown away), all deleted. */
        void close() {
            List<Path> servers;
            synchronized (running) {
                servers = new ArrayList<>(running);
            }
            // The standby first, so it does not spend the primary's shutdown trying to reconnect.
            for (int i = servers.size() - 1; i >= 0; i--) {
                try {
                    stop(servers.get(i), "immediate");
                } catch (RuntimeException e) {
                    System.err.println("StandbyPair: " + e.getMessage());
                }
            }
            if (base != null) {
                FileSystemUtils.deleteRecursively(base.toFile());
            }
        }

        /** Runs one of the PostgreSQL programs to completion; its output goes to commands.log, quoted on failure. */
        private void run(String program, String... arguments) throws IOException {
            List<String> command = new ArrayList<>(asServerUser);
            command.add(bin.resolve(program).toString());
            command.addAll(List.of(arguments));
            ProcessBuilder builder = new ProcessBuilder(command).directory(base.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(commandLog.toFile()));
            Map<String, String> environment = builder.environment();
            // Nothing of the caller's libpq settings, nor a home the server user cannot read.
            environment.keySet().removeIf(name -> name.startsWith("PG"));
            environment.put("HOME", base.toString());
            environment.put("LC_ALL", "C");
            Process process = builder.start();
            try {
                if (!process.waitFor(WAIT.toSeconds() + 30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new IOException(program + " did not finish\n" + tail(commandLog));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while " + program + " ran", e);
            }
            if (process.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed (exit code " + process.exitValue() + ")\n"
                        + tail(commandLog));
            }
        }

        private static void append(Path file, String text) throws IOException {
            Files.writeString(file, Files.readString(file) + text);
        }

        private static String tail(Path file) {
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
            } catch (IOException e) {
                return "(no " + file + ": " + e.getMessage() + ")";
            }
        }

        /**
         * TEST_PG_BIN (or the embedded binaries when it says {@code embedded}), else Debian's PostgreSQL 15, else
         * the embedded binaries unpacked into {@code base}.
         */
        private static Path binaries(Path base) throws IOException {
            String configured = System.getenv("TEST_PG_BIN");
            if ("embedded".equals(configured)) {
                return unpackEmbedded(base);
            }
            boolean given = configured != null && !configured.isBlank();
            Path bin = Path.of(given ? configured : DEBIAN_BIN);
            List<String> needed = List.of("initdb", "pg_ctl", "postgres");
            if (needed.stream().allMatch(program -> Files.isExecutable(bin.resolve(program)))) {
                return bin;
            }
            if (given) {
                throw new IllegalStateException("TEST_PG_BIN=" + configured + " lacks one of " + needed);
            }
            return unpackEmbedded(base);
        }

        /** The build's embedded PostgreSQL, unpacked as the service's EmbeddedDatabase unpacks it. */
        private static Path unpackEmbedded(Path base) throws IOException {
            return readableBin(EmbeddedDatabase.unpack(base));
        }

        /** An installation's bin directory, once the server user may run its programs and read its share/. */
        static Path readableBin(Path installation) throws IOException {
            // The server user runs them (and reads their share/), root keeps them.
            try (Stream<Path> files = Files.walk(installation)) {
                for (Path directory : (Iterable<Path>) files.filter(Files::isDirectory)::iterator) {
                    Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
            return installation.resolve("bin");
        }

        /**
         * The standby's data directory as pg_basebackup -R -C -S would make it, for binaries without pg_basebackup:
         * a slot first (the WAL from here on stays for the standby), then a copy of the running primary's files
         * between pg_backup_start and pg_backup_stop, its backup_label, standby.signal and primary_conninfo. The
         * copy may be torn; replay from the backup's start (full_page_writes on) makes it consistent.
         */
        private void copyThroughSql() throws IOException {
            try (Connection primary = DriverManager.getConnection(
                    DatabaseUrl.parse(url(primaryPort)).jdbcUrl(), ROLE, null);
                    Statement statement = primary.createStatement()) {
                statement.execute("SELECT pg_create_physical_replication_slot('" + SLOT + "', true)");
                statement.execute("SELECT pg_backup_start('" + SLOT + "', true)");
                Set<String> contentsSkipped = Set.of("pg_wal", "pg_replslot", "pg_stat_tmp", "pg_dynshmem",
                        "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans");
                Set<String> filesSkipped = Set.of("postmaster.pid", "postmaster.opts", "backup_label",
                        "tablespace_map");
                List<Path> sources;
                try (Stream<Path> files = Files.walk(primaryData)) {
                    sources = files.toList();
                }
                for (Path source : sources) {
                    Path relative = primaryData.relativize(source);
                    if (relative.getNameCount() > 1 && contentsSkipped.contains(relative.getName(0).toString())
                            || relative.getNameCount() == 1 && filesSkipped.contains(relative.toString())) {
                        continue;
                    }
                    Path target = standbyData.resolve(relative.toString());
                    try {
                        if (Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
                            Files.createDirectories(target);
                        } else {
                            Files.copy(source, target);
                        }
                    } catch (NoSuchFileException e) {
                        // Removed while copied (a temporary file): the WAL replay does not need it.
                    }
                }
                Files.createDirectories(standbyData.resolve("pg_wal/archive_status"));
                String label;
                try (ResultSet stop = statement.executeQuery("SELECT labelfile FROM pg_backup_stop(false)")) {
                    stop.next();
                    label = stop.getString(1);
                }
                Files.writeString(standbyData.resolve("backup_label"), label);
                Files.createFile(standbyData.resolve("standby.signal"));
                append(standbyData.resolve("postgresql.auto.conf"), "primary_conninfo = 'host=127.0.0.1 port="
                        + primaryPort + " user=" + ROLE + conninfoOptions + "'\nprimary_slot_name = '" + SLOT + "'\n");
            } catch (SQLException e) {
                throw new IOException("the copy of the primary for the standby failed: " + e.getMessage(), e);
            }
            Files.setPosixFilePermissions(standbyData, PosixFilePermissions.fromString("rwx------"));
            Object owner = Files.getAttribute(primaryData, "unix:uid");
            Object group = Files.getAttribute(primaryData, "unix:gid");
            try (Stream<Path> files = Files.walk(standbyData)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.setAttribute(file, "unix:uid", owner, LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(file, "unix:gid", group, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }

        /** {@value #SERVER_USER}'s uid and gid in /etc/passwd. */
        private static int[] serverUserIds() throws IOException {
            for (String entry : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
                String[] fields = entry.split(":");
                if (fields.length > 3 && fields[0].equals(SERVER_USER)) {
                    return new int[] {Integer.parseInt(fields[2]), Integer.parseInt(fields[3])};
                }
            }
            throw new IllegalStateException("PostgreSQL cannot run as root, and there is no user " + SERVER_USER
                    + " in /etc/passwd to run it as");
        }

        private static int freePort() throws IOException {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            }
        }
    }
}
