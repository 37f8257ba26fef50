package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.util.FileSystemUtils;

import com.cdcexport.CdcExportApplication;
import com.cdcexport.support.OpenDirectories;

/**
 * The embedded PostgreSQL as the service starts it (as root in CI): its server holds nothing of root's, and it asks
 * for a password, which is what a start-up with a wrong one needs.
 */
@ExtendWith(OutputCaptureExtension.class)
class EmbeddedDatabaseTest {

    /** As root the server's user must pass through every directory above (see OpenDirectories). */
    private static Path directory;

    private static EmbeddedDatabase embedded;
    private static DatabaseUrl url;

    @BeforeAll
    static void start() throws Exception {
        directory = OpenDirectories.create("embedded-");
        embedded = new EmbeddedDatabase();
        url = embedded.start(directory.resolve(".data/postgres"));
    }

    @AfterAll
    static void stop() throws Exception {
        embedded.close();
        FileSystemUtils.deleteRecursively(directory);
    }

    @Test
    void asRootTheServerRunsAsAnUnprivilegedUserThatCannotWriteRootsFiles() throws Exception {
        assumeTrue(EmbeddedDatabase.isRoot(), "only a service run as root has a root to keep the server from");
        Path rootsFile = Files.writeString(directory.resolve("roots-file"), "root's\n");
        Files.setPosixFilePermissions(rootsFile, PosixFilePermissions.fromString("rw-r--r--"));
        // Where anyone may write, so that the server reaching a path is not what the test measures.
        Path open = Files.createDirectory(directory.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));

        String password = Files.readString(directory.resolve(".data/postgres-password")).strip();
        try (Connection superuser = DriverManager.getConnection(url.jdbcUrl(), "postgres", password);
             Statement sql = superuser.createStatement()) {
            sql.execute("COPY (SELECT 1) TO '" + open.resolve("reachable.csv") + "'");
            assertThat((Integer) Files.getAttribute(open.resolve("reachable.csv"), "unix:uid"))
                    .as("owner of a file the server wrote").isNotZero();

            assertThatThrownBy(() -> sql.execute("COPY (SELECT 1) TO '" + rootsFile + "'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("Permission denied");
        }
        assertThat(rootsFile).hasContent("root's");

        long postmaster = Long.parseLong(Files.readAllLines(directory.resolve(".data/postgres/postmaster.pid")).get(0));
        List<String> uids = Files.readAllLines(Path.of("/proc", String.valueOf(postmaster), "status")).stream()
                .filter(line -> line.startsWith("Uid:")).toList();
        assertThat(uids).singleElement().asString().doesNotContain("\t0");
        // The secrets beside the data stay root's alone, though the server's user may pass through to its data.
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(directory.resolve(".data"))))
                .isEqualTo("rwx--x--x");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
                directory.resolve(".data/postgres-password")))).isEqualTo("rw-------");
    }

    @Test
    void aWrongPasswordStopsStartupNamingThePasswordButNeverShowingIt(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(CdcExportApplication.class)
                .web(WebApplicationType.NONE)
                .run("--cdc.database-url=" + withPassword("wrongSecret42"), "--cdc.seed-users=0",
                        "--cdc.auth.mode=off", "--cdc.output-dir=" + directory.resolve("output")).close())
                .isNotNull();

        assertThat(output.getAll()).contains("Cannot start: DATABASE_URL: password authentication failed for user "
                + "'cdc'; check the password in DATABASE_URL").doesNotContain("wrongSecret42");
    }

    @Test
    void aRefusedPasswordIsNotRetried() {
        DatabaseUrl wrong = DatabaseUrl.parse(withPassword("wrongSecret42"));
        long started = System.nanoTime();
        assertThatThrownBy(() -> FirstConnection.check(wrong)).isInstanceOf(InvalidSettingException.class)
                .hasMessage("DATABASE_URL: password authentication failed for user 'cdc'; check the password in "
                        + "DATABASE_URL");
        // The pool used to retry it for 30 s; one attempt takes milliseconds.
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void aMissingPasswordIsNamed() {
        DatabaseUrl none = new DatabaseUrl(url.jdbcUrl(), "cdc", null);
        assertThatThrownBy(() -> FirstConnection.check(none))
                .hasMessage("DATABASE_URL: the server asks for the password of user 'cdc' and DATABASE_URL has none; "
                        + "add it: postgresql://cdc:PASSWORD@host:port/database");
    }

    private static String withPassword(String password) {
        return "postgresql://cdc:" + password + "@localhost:" + url.jdbcUrl().replaceAll(".*:(\\d+)/.*", "$1") + "/cdc";
    }
}
