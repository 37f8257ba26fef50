package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumMode;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.support.S3MockProcess;
import com.cdcexport.support.ServiceProcess;

/**
 * ICEBERG_WAREHOUSE: where the tables' files go (a directory, or S3 by S3FileIO on the S3 settings), and the start-up
 * check of a warehouse in S3 against a real S3 API (S3Mock as a process): a bucket that is missing or does not answer
 * stops start-up with one line naming the setting, within seconds.
 */
class IcebergWarehouseTest {

    private static final String BUCKET = "lake";

    private static S3MockProcess server;
    private static AwsCredentialsFromSystemProperties credentials;

    @TempDir
    Path directory;

    @BeforeAll
    static void startS3() {
        server = S3MockProcess.start(BUCKET);
        credentials = AwsCredentialsFromSystemProperties.set();
    }

    @AfterAll
    static void stopS3() {
        credentials.close();
        server.close();
    }

    /** The service's settings: defaults, then {@code settings} (names as in application.yml under cdc.). */
    private CdcProperties properties(String... settings) {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("cdc.output-dir", directory.resolve("output").toString());
        map.put("cdc.parallel.chunk-dir", directory.resolve("chunks").toString());
        for (int i = 0; i < settings.length; i += 2) {
            map.put("cdc." + settings[i], settings[i + 1]);
        }
        return new Binder(new MapConfigurationPropertySource(map)).bindOrCreate("cdc", CdcProperties.class);
    }

    private CdcProperties onS3Mock(String endpoint, String... settings) {
        String[] all = new String[settings.length + 6];
        System.arraycopy(new String[] {"s3.endpoint", endpoint, "s3.path-style", "true", "s3.region", "us-east-1"},
                0, all, 0, 6);
        System.arraycopy(settings, 0, all, 6, settings.length);
        return properties(all);
    }

    @Test
    void theWarehouseIsADirectoryOrAnS3LocationAndWithTheS3SinkItsBucketByDefault() throws IOException {
        try (Warehouse local = new Warehouse(properties())) {
            assertThat(local.it.inS3()).isFalse();
            assertThat(local.it.io()).isInstanceOf(LocalFileIO.class);
            assertThat(local.it.location()).isEqualTo(directory.resolve("output/iceberg").toUri().toString()
                    .replaceAll("/$", ""));
        }
        try (Warehouse sink = new Warehouse(properties("sink", "s3", "s3.bucket", "exports", "s3.prefix", "/out/"))) {
            assertThat(sink.it.inS3()).isTrue();
            assertThat(sink.it.io()).isInstanceOf(org.apache.iceberg.aws.s3.S3FileIO.class);
            assertThat(sink.it.location()).isEqualTo("s3://exports/out/iceberg");
            assertThat(sink.it.io().properties()).as("no key in the FileIO's properties: the SDK's chain")
                    .containsEntry("s3.client-factory-impl", WarehouseS3ClientFactory.class.getName())
                    .containsEntry("http-client.type", "urlconnection")
                    .doesNotContainKeys("s3.access-key-id", "s3.secret-access-key", "s3.session-token");
        }
        try (Warehouse noPrefix = new Warehouse(properties("sink", "s3", "s3.bucket", "exports"))) {
            assertThat(noPrefix.it.location()).isEqualTo("s3://exports/iceberg");
        }
        try (Warehouse set = new Warehouse(properties("sink", "s3", "s3.bucket", "exports",
                "iceberg.warehouse", "s3://lake/tables/"))) {
            assertThat(set.it.location()).as("ICEBERG_WAREHOUSE wins over the sink's bucket")
                    .isEqualTo("s3://lake/tables");
        }
        try (Warehouse bucketOnly = new Warehouse(properties("iceberg.warehouse", "s3://lake"))) {
            assertThat(bucketOnly.it.location()).isEqualTo("s3://lake");
        }
        try (Warehouse directoryOverSink = new Warehouse(properties("sink", "s3", "s3.bucket", "exports",
                "iceberg.warehouse", directory.resolve("tables").toString()))) {
            assertThat(directoryOverSink.it.inS3()).as("a directory, though files go to S3").isFalse();
        }
    }

    @Test
    void aWarehouseThatIsNeitherADirectoryNorAnS3LocationIsRefused() {
        assertThatThrownBy(() -> new IcebergWarehouse(properties("iceberg.warehouse", "s3://")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessage("ICEBERG_WAREHOUSE='s3://' is not s3://bucket or s3://bucket/prefix: name the bucket");
        assertThatThrownBy(() -> new IcebergWarehouse(properties("iceberg.warehouse", "s3:///tables")))
                .hasMessageStartingWith("ICEBERG_WAREHOUSE='s3:///tables' is not s3://bucket");
        assertThatThrownBy(() -> new IcebergWarehouse(properties("iceberg.warehouse", "gs://lake/tables")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessage("ICEBERG_WAREHOUSE='gs://lake/tables' is neither a directory nor s3://bucket/prefix, "
                        + "the warehouses the service writes to");
        assertThatThrownBy(() -> new IcebergWarehouse(properties("sink", "s3")))
                .hasMessage("S3_BUCKET is not set: EXPORT_SINK=s3 needs the bucket to write to");
        assertThatThrownBy(() -> new IcebergWarehouse(properties("iceberg.warehouse", "s3://lake/t",
                "s3.endpoint", "not a url")))
                .hasMessage("S3_ENDPOINT='not a url' is not a URL such as http://localhost:9000");
    }

    @Test
    void aMissingBucketStopsStartUpWithOneLineNamingTheSetting() {
        try (Warehouse missing = new Warehouse(onS3Mock(server.endpoint(), "iceberg.warehouse",
                "s3://no-such-bucket/tables"))) {
            assertThatThrownBy(missing.it::checkSettings).isInstanceOf(InvalidSettingException.class)
                    .hasMessage("bucket no-such-bucket of ICEBERG_WAREHOUSE=s3://no-such-bucket/tables does not "
                            + "exist at S3_ENDPOINT=" + server.endpoint() + ": create it or point ICEBERG_WAREHOUSE "
                            + "at an existing bucket");
        }
        // The S3 sink's bucket by default: the sink's own words, whichever of the two checks runs first.
        try (Warehouse sinks = new Warehouse(onS3Mock(server.endpoint(), "sink", "s3", "s3.bucket",
                "no-such-bucket"))) {
            assertThatThrownBy(sinks.it::checkSettings)
                    .hasMessage("S3_BUCKET=no-such-bucket does not exist at S3_ENDPOINT=" + server.endpoint()
                            + ": create it or set S3_BUCKET to an existing bucket");
        }
    }

    @Test
    void anEndpointThatRefusesOrNeverAnswersStopsStartUpWithinSeconds() throws IOException {
        String refused = "http://127.0.0.1:" + ServiceProcess.freePort();
        long started = System.nanoTime();
        try (Warehouse nowhere = new Warehouse(onS3Mock(refused, "iceberg.warehouse", "s3://lake/tables"))) {
            assertThatThrownBy(nowhere.it::checkSettings).isInstanceOf(InvalidSettingException.class)
                    .hasMessageStartingWith("Cannot reach S3 at S3_ENDPOINT=" + refused + " for bucket lake of "
                            + "ICEBERG_WAREHOUSE=s3://lake/tables: ")
                    .hasMessageEndingWith(": check S3_ENDPOINT and that the store is running")
                    .message().doesNotContain("\n").doesNotContain(S3MockProcess.SECRET_KEY);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("refused: retried briefly")
                .isLessThan(Duration.ofSeconds(15));

        // A port that takes connections and never answers (its backlog accepts them, nobody reads).
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             Warehouse mute = new Warehouse(onS3Mock("http://127.0.0.1:" + silent.getLocalPort(),
                     "iceberg.warehouse", "s3://lake/tables"))) {
            long before = System.nanoTime();
            assertThatThrownBy(mute.it::checkSettings).isInstanceOf(InvalidSettingException.class)
                    .hasMessageStartingWith("Cannot reach S3 at S3_ENDPOINT=http://127.0.0.1:"
                            + silent.getLocalPort());
            assertThat(Duration.ofNanos(System.nanoTime() - before)).as("bounded by the check's timeout")
                    .isLessThan(IcebergWarehouse.CHECK_TIMEOUT.plusSeconds(10));
        }
    }

    @Test
    void anExistingBucketPassesAndTheFileIoWritesThereStagingInAPrivateDirectory() throws IOException {
        Warehouse warehouse = new Warehouse(onS3Mock(server.endpoint(), "iceberg.warehouse", "s3://lake/wh"));
        IcebergWarehouse it = warehouse.it;
        it.checkSettings();
        Path staging = it.stagingDirectory();
        assertThat(staging).isDirectory().hasParent(directory.resolve("chunks").toAbsolutePath());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(staging))).isEqualTo("rwx------");

        String location = it.location() + "/ns/t/data/a.parquet";
        try (OutputStream out = it.io().newOutputFile(location).create()) {
            out.write("rows".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(server.keys(BUCKET, "wh/")).containsExactly("wh/ns/t/data/a.parquet");
        assertThat(new String(server.object(BUCKET, "wh/ns/t/data/a.parquet"), StandardCharsets.UTF_8))
                .isEqualTo("rows");
        assertThat(staging).isEmptyDirectory();
        // Checksums only where S3 requires them, as the S3 sink's client: no CRC32 sent with the upload (a client
        // with the SDK's defaults sends one, and S3Mock keeps it).
        try (S3Client defaults = server.client()) {
            defaults.putObject(b -> b.bucket(BUCKET).key("control"), RequestBody.fromString("rows"));
            assertThat(defaults.headObject(b -> b.bucket(BUCKET).key("control").checksumMode(ChecksumMode.ENABLED))
                    .checksumCRC32()).isNotNull();
            assertThat(defaults.headObject(b -> b.bucket(BUCKET).key("wh/ns/t/data/a.parquet")
                    .checksumMode(ChecksumMode.ENABLED)).checksumCRC32()).isNull();
            defaults.deleteObject(b -> b.bucket(BUCKET).key("control"));
        }
        it.io().deleteFile(location);
        assertThat(server.keys(BUCKET, "wh/")).isEmpty();

        warehouse.close();
        assertThat(staging).doesNotExist();
    }

    /** Readiness asks the warehouse's own bucket, which need not be the file sink's. */
    @Test
    void readinessIsUpWhileTheWarehouseBucketAnswersAndDownWhenItIsGone() throws IOException {
        try (Warehouse warehouse = new Warehouse(onS3Mock(server.endpoint(), "iceberg.warehouse", "s3://lake/wh"))) {
            Health.Builder up = new Health.Builder();
            warehouse.it.checkHealth(up);
            assertThat(up.build().getStatus()).isEqualTo(Status.UP);
            assertThat(up.build().getDetails()).containsEntry("location", "s3://lake/wh");
        }
        try (Warehouse gone = new Warehouse(onS3Mock(server.endpoint(), "iceberg.warehouse", "s3://gone/wh"))) {
            assertThatThrownBy(() -> gone.it.checkHealth(new Health.Builder()))
                    .isInstanceOf(SdkException.class);
        }
        try (Warehouse local = new Warehouse(properties("iceberg.warehouse", directory.resolve("tables").toString()))) {
            local.it.checkSettings();
            Health.Builder up = new Health.Builder();
            local.it.checkHealth(up);
            assertThat(up.build().getStatus()).isEqualTo(Status.UP);
            assertThat(directory.resolve("tables")).isEmptyDirectory();
            Files.delete(directory.resolve("tables"));
            assertThatThrownBy(() -> local.it.checkHealth(new Health.Builder())).as("gone since start-up")
                    .isInstanceOf(IOException.class);
        }
    }

    @Test
    void stagingFilesAProcessThatIsGoneLeftAreRemovedAtStartUp() throws IOException {
        Path chunks = Files.createDirectories(directory.resolve("chunks"));
        Path gone = Files.createDirectories(chunks.resolve(IcebergWarehouse.STAGING_PREFIX + "999999999"));
        Files.writeString(gone.resolve("s3fileio-1.tmp"), "rows of a killed process");
        Path alive = Files.createDirectories(chunks.resolve(IcebergWarehouse.STAGING_PREFIX
                + ProcessHandle.current().parent().orElseThrow().pid()));
        try (Warehouse warehouse = new Warehouse(onS3Mock(server.endpoint(), "iceberg.warehouse", "s3://lake/wh"))) {
            warehouse.it.checkSettings();
            assertThat(gone).doesNotExist();
            assertThat(alive).as("another running process's").isDirectory();
        }
    }

    /** An IcebergWarehouse closed (its FileIO, its staging directory) at the end of a try. */
    private static final class Warehouse implements AutoCloseable {
        final IcebergWarehouse it;

        Warehouse(CdcProperties properties) {
            it = new IcebergWarehouse(properties);
        }

        @Override
        public void close() {
            try {
                it.destroy();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** The test keys for the SDK's default credential chain, whose first source is these system properties. */
    static final class AwsCredentialsFromSystemProperties implements AutoCloseable {
        private static final String[] NAMES = {"aws.accessKeyId", "aws.secretAccessKey"};
        private final String[] before = new String[NAMES.length];

        static AwsCredentialsFromSystemProperties set() {
            AwsCredentialsFromSystemProperties set = new AwsCredentialsFromSystemProperties();
            for (int i = 0; i < NAMES.length; i++) {
                set.before[i] = System.getProperty(NAMES[i]);
            }
            System.setProperty(NAMES[0], S3MockProcess.ACCESS_KEY);
            System.setProperty(NAMES[1], S3MockProcess.SECRET_KEY);
            return set;
        }

        @Override
        public void close() {
            for (int i = 0; i < NAMES.length; i++) {
                if (before[i] == null) {
                    System.clearProperty(NAMES[i]);
                } else {
                    System.setProperty(NAMES[i], before[i]);
                }
            }
        }
    }
}
