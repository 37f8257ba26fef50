package com.cdcexport.export.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.destination.ExportFileStore.ExportNames;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;

class ExportFileStoreTest {

    private static final Instant AT = Instant.parse("2026-02-26T04:30:00.999Z");

    @TempDir
    Path dir;

    private static CdcProperties outputIn(Path output) {
        return outputIn(output, "0600");
    }

    private static CdcProperties outputIn(Path output, String fileMode) {
        return new CdcProperties("", new CdcProperties.Standby("", Duration.ofSeconds(30),
                CdcProperties.StandbyFallback.FAIL), Path.of(".data/postgres"), output, fileMode, 0, "", "cdc", "users",
                CdcProperties.CaptureMode.TRIGGER,
                new CdcProperties.Logical("", Duration.ofSeconds(60), org.springframework.util.unit.DataSize.ofGigabytes(1),
                        10_000), "", "", Duration.ofMinutes(10),
                new CdcProperties.Jobs(2, 10, Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofMillis(500), 3, null, 0, 1),
                new CdcProperties.Auth(CdcProperties.AuthMode.OFF, "", "", Duration.ofHours(24), 0, 0,
                        Duration.ZERO),
                new CdcProperties.Console(Duration.ofMinutes(30), 1000, 60), new CdcProperties.Masking(""),
                CdcProperties.Sink.LOCAL, s3Defaults(),
                new CdcProperties.Parallel(1, 0, "", 0, 0), new CdcProperties.Iceberg("", "{consumer}",
                        Duration.ofHours(1), Duration.ofDays(7), 8, 100_000,
                        CdcProperties.Iceberg.IcebergCatalogKind.EMBEDDED, "", "", "", "", ""));
    }

    static CdcProperties.S3 s3Defaults() {
        return new CdcProperties.S3("", "", "", false, "", org.springframework.util.unit.DataSize.ofMegabytes(8), 2);
    }

    private ExportFileStore store() {
        return new ExportFileStore(outputIn(dir));
    }

    @Test
    void namesFollowTheSeedPattern() {
        ExportNames names = store().allocateNames(ExportType.INCREMENTAL, ExportFormat.CSV, new ConsumerId("consumer-1"),
                List.of(TableName.USERS, new TableName("sales", "orders")), AT, n -> false);

        assertThat(names.files()).containsExactly("incremental_consumer-1_20260226T043000Z.csv",
                "incremental_consumer-1_sales.orders_20260226T043000Z.csv");
        assertThat(names.manifest()).isEqualTo("incremental_consumer-1_20260226T043000Z.manifest.json");
    }

    @Test
    void namesEndWithTheFormatsExtension() {
        ExportNames names = store().allocateNames(ExportType.DELTA, ExportFormat.CSV_GZ, new ConsumerId("c"),
                List.of(TableName.USERS, new TableName("app", "orders")), AT, n -> false);

        assertThat(names.files()).containsExactly("delta_c_20260226T043000Z.csv.gz",
                "delta_c_app.orders_20260226T043000Z.csv.gz");
    }

    @Test
    void sameSecondNamesGetASuffixInsteadOfColliding() throws IOException {
        ExportFileStore store = store();
        ConsumerId consumer = new ConsumerId("c");
        Files.writeString(dir.resolve("full_c_20260226T043000Z.csv"), "existing");

        ExportNames names = store.allocateNames(ExportType.FULL, ExportFormat.CSV, consumer, List.of(TableName.USERS),
                AT, n -> n.endsWith("_2.csv"));

        assertThat(names.files()).containsExactly("full_c_20260226T043000Z_3.csv");
        assertThat(names.manifest()).isEqualTo("full_c_20260226T043000Z_3.manifest.json");
    }

    @Test
    void aTakenManifestNameMovesEveryNameOn() {
        ExportNames names = store().allocateNames(ExportType.FULL, ExportFormat.PARQUET, new ConsumerId("c"),
                List.of(TableName.USERS), AT, n -> n.equals("full_c_20260226T043000Z.manifest.json"));

        assertThat(names.files()).containsExactly("full_c_20260226T043000Z_2.parquet");
    }

    @Test
    void publishMakesTheFileAppearOnlyWhenComplete() throws IOException {
        ExportFileStore store = store();
        try (ExportFileStore.PendingFile file = store.create("a.csv", 1)) {
            file.stream().write("id\n1\n".getBytes(StandardCharsets.UTF_8));
            assertThat(dir.resolve("a.csv")).doesNotExist();
            assertThat(dir.resolve("a.csv.1.part")).exists();
            file.publish();
        }
        assertThat(dir.resolve("a.csv")).hasContent("id\n1");
        assertThat(dir.resolve("a.csv.1.part")).doesNotExist();
    }

    @Test
    void unpublishedFileLeavesNothingBehind() throws IOException {
        try (ExportFileStore.PendingFile file = store().create("b.csv", 1)) {
            file.stream().write("partial".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void publishNeverOverwritesAnExistingFile() throws IOException {
        ExportFileStore store = store();
        Files.writeString(dir.resolve("c.csv"), "precious");
        ExportFileStore.PendingFile file = store.create("c.csv", 1);
        file.stream().write("new".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(file::publish).hasMessageContaining("Refusing to overwrite");
        file.close();
        assertThat(dir.resolve("c.csv")).hasContent("precious");
        assertThat(dir.resolve("c.csv.1.part")).doesNotExist();
    }

    @Test
    void deleteAllRemovesTheFileAndEveryAttemptsTemporaryFile() throws IOException {
        Files.writeString(dir.resolve("d.csv"), "x");
        Files.writeString(dir.resolve("d.csv.1.part"), "x");
        Files.writeString(dir.resolve("d.csv.2.part"), "x");
        Files.writeString(dir.resolve("d.csv_2.csv"), "someone else's");

        store().deleteAll("d.csv");

        assertThat(dir).isDirectoryNotContaining("glob:**/d.csv*.part").isDirectoryNotContaining("glob:**/d.csv");
        assertThat(dir.resolve("d.csv_2.csv")).exists();
    }

    @Test
    void deletingOneAttemptsTemporaryFileLeavesOtherAttemptsAndThePublishedFile() throws IOException {
        Files.writeString(dir.resolve("e.csv"), "published by attempt 2");
        Files.writeString(dir.resolve("e.csv.1.part"), "x");
        Files.writeString(dir.resolve("e.csv.3.part"), "x");

        store().deletePart("e.csv", 1);

        assertThat(dir.resolve("e.csv.1.part")).doesNotExist();
        assertThat(dir.resolve("e.csv.3.part")).exists();
        assertThat(dir.resolve("e.csv")).exists();
    }

    @Test
    void publishCanBeRetriedOnceTheTakenNameIsFree() throws IOException {
        ExportFileStore store = store();
        Files.writeString(dir.resolve("f.csv"), "left by an earlier attempt");
        try (ExportFileStore.PendingFile file = store.create("f.csv", 2)) {
            file.stream().write("mine".getBytes(StandardCharsets.UTF_8));
            assertThatThrownBy(file::publish).isInstanceOf(FileAlreadyExistsException.class);

            store.deletePublished("f.csv");
            file.publish();
        }
        assertThat(dir.resolve("f.csv")).hasContent("mine");
        assertThat(dir.resolve("f.csv.2.part")).doesNotExist();
    }

    @Test
    void namesThatEscapeTheDirectoryAreRejected() {
        assertThatThrownBy(() -> store().create("../evil.csv", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store().create("sub/evil.csv", 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void temporaryFilesAreListedWithTheirAttempt() throws IOException {
        Files.writeString(dir.resolve("old.csv.1.part"), "x");
        Files.writeString(dir.resolve("live.csv.12.part"), "x");
        Files.writeString(dir.resolve("done.csv"), "x");
        Files.writeString(dir.resolve("odd.part"), "x");

        assertThat(store().partFiles()).containsExactlyInAnyOrder(
                new ExportFileStore.PartFile("old.csv", 1), new ExportFileStore.PartFile("live.csv", 12));
    }

    @Test
    void missingOutputDirectoryIsCreated() {
        Path nested = dir.resolve("a/b");
        new ExportFileStore(outputIn(nested));
        assertThat(nested).isDirectory();
    }

    @Test
    void outputPathThatIsAFileFailsWithClearMessage() throws IOException {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        assertThatThrownBy(() -> new ExportFileStore(outputIn(file)))
                .hasMessageContaining("EXPORT_OUTPUT_DIR")
                .hasMessageContaining("not a writable directory");
    }

    @Test
    void filesAreOwnerOnlyInAnOwnerOnlyDirectoryEvenIfTheDirectoryWasOpen() throws IOException {
        Path output = dir.resolve("out");
        Files.createDirectory(output);
        Files.setPosixFilePermissions(output, PosixFilePermissions.fromString("rwxrwxrwx"));

        ExportFileStore store = new ExportFileStore(outputIn(output));

        assertThat(mode(output)).isEqualTo("rwx------");
        assertThat(publish(store, output, "private.csv")).isEqualTo("rw-------");
    }

    @Test
    void aGroupReadableModeOpensFilesAndDirectoryToTheGroupOnly() throws IOException {
        Path output = dir.resolve("shared");

        ExportFileStore store = new ExportFileStore(outputIn(output, "0640"));

        assertThat(mode(output)).isEqualTo("rwxr-x---");
        assertThat(publish(store, output, "shared.csv")).isEqualTo("rw-r-----");
    }

    @Test
    void aFileModeTheServiceCannotUseOrThatIsExecutableFailsStartUp() {
        for (String mode : List.of("0400", "0700", "0755", "644x", "rw-r-----", "01600", "")) {
            assertThatThrownBy(() -> new ExportFileStore(outputIn(dir, mode))).as(mode)
                    .isInstanceOf(InvalidSettingException.class).hasMessageContaining("EXPORT_FILE_MODE");
        }
    }

    /** Writes and publishes a file; its mode while being written and after, which must be the same. */
    private static String publish(ExportFileStore store, Path dir, String name) throws IOException {
        String partMode;
        try (ExportFileStore.PendingFile file = store.create(name, 1)) {
            partMode = mode(dir.resolve(name + ".1.part"));
            file.stream().write("id\n".getBytes(StandardCharsets.UTF_8));
            file.publish();
        }
        assertThat(mode(dir.resolve(name))).isEqualTo(partMode);
        return partMode;
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
