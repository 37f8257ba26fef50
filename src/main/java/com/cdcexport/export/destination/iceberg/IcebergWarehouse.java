package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.aws.AwsClientProperties;
import org.apache.iceberg.aws.HttpClientProperties;
import org.apache.iceberg.aws.s3.S3FileIO;
import org.apache.iceberg.aws.s3.S3FileIOProperties;
import org.apache.iceberg.io.FileIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;
import org.springframework.util.FileSystemUtils;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.config.SettingsCheck;
import com.cdcexport.export.destination.S3Checks;

/**
 * Where the Iceberg tables' files go, and the {@link FileIO} that writes and reads them. ICEBERG_WAREHOUSE is a
 * local directory (through {@link LocalFileIO}) or {@code s3://bucket/prefix} (through Iceberg's own
 * {@link S3FileIO}, on the S3 settings: S3_ENDPOINT, S3_PATH_STYLE, AWS_REGION, and the AWS SDK's default
 * credential chain). Empty, it is EXPORT_OUTPUT_DIR/iceberg, or with EXPORT_SINK=s3
 * {@code s3://S3_BUCKET/S3_PREFIX/iceberg}. Only the files move: the catalog stays in the service's schema.
 *
 * <p>Checked before the database is touched: a directory must be writable; a bucket must exist and answer, asked
 * through the FileIO's own client (so its region, endpoint and credentials are the ones exports will use).
 * S3FileIO stages what it uploads in local files: they go to a directory of this process's alone (0700) under
 * EXPORT_CHUNK_DIR (or java.io.tmpdir), as they hold consumers' rows.
 */
@Component
public class IcebergWarehouse implements SettingsCheck, DisposableBean {

    /** How long the start-up check waits for the bucket to answer, retries included. */
    static final Duration CHECK_TIMEOUT = Duration.ofSeconds(20);
    /** A readiness probe must answer well within a load balancer's own timeout. */
    static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(5);
    static final String STAGING_PREFIX = "cdc-iceberg-s3-";

    private static final Logger log = LoggerFactory.getLogger(IcebergWarehouse.class);

    private final CdcProperties properties;
    /** Where tables go, without a trailing slash: a {@code file:} URI or {@code s3://bucket/prefix}. */
    private final String location;
    /** The local directory, or null in S3. */
    private final Path directory;
    /** The bucket in S3, or null. */
    private final String bucket;
    /** How start-up messages name the bucket and what else to do when it does not exist. */
    private final String bucketNamed;
    private final String bucketInstead;
    private final Path staging;
    private final FileIO io;

    public IcebergWarehouse(CdcProperties properties) {
        this.properties = properties;
        Bucket s3 = bucketOf(properties);
        if (s3 == null) {
            String configured = properties.iceberg().warehouse().strip();
            this.directory = configured.isEmpty() ? properties.outputDir().resolve("iceberg")
                    : LocalFileIO.path(configured);
            String uri = LocalFileIO.location(directory);
            this.location = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
            this.bucket = null;
            this.bucketNamed = null;
            this.bucketInstead = null;
            this.staging = null;
            this.io = new LocalFileIO();
        } else {
            this.directory = null;
            this.location = s3.location();
            this.bucket = s3.name();
            this.bucketNamed = s3.named();
            this.bucketInstead = s3.instead();
            String base = properties.parallel().chunkDir().isBlank() ? System.getProperty("java.io.tmpdir")
                    : properties.parallel().chunkDir();
            this.staging = Path.of(base).toAbsolutePath().normalize()
                    .resolve(STAGING_PREFIX + ProcessHandle.current().pid());
            this.io = s3FileIO(properties.s3(), staging);
        }
    }

    /**
     * A warehouse in S3: its bucket, its location, and how start-up messages name the bucket and say what else to do
     * when it does not exist.
     */
    record Bucket(String name, String location, String named, String instead) {
    }

    /** The warehouse's bucket, or null for a local directory; a setting that is neither fails here. */
    static Bucket bucketOf(CdcProperties properties) {
        String configured = properties.iceberg().warehouse().strip();
        CdcProperties.S3 s3 = properties.s3();
        if (configured.isEmpty() && properties.sink() == CdcProperties.Sink.S3) {
            if (s3.bucket().isBlank()) {
                throw new InvalidSettingException("S3_BUCKET is not set: EXPORT_SINK=s3 needs the bucket to write to");
            }
            String name = s3.bucket().strip();
            return new Bucket(name, "s3://" + name + "/" + s3.normalizedPrefix() + "iceberg", "S3_BUCKET=" + name,
                    "set S3_BUCKET to an existing bucket");
        }
        if (configured.startsWith("s3://")) {
            String path = configured.substring("s3://".length()).replaceAll("/+$", "");
            int slash = path.indexOf('/');
            String name = slash < 0 ? path : path.substring(0, slash);
            String prefix = slash < 0 ? "" : path.substring(slash + 1).replaceAll("/{2,}", "/");
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,254}") || prefix.startsWith("/")) {
                throw new InvalidSettingException("ICEBERG_WAREHOUSE='" + configured + "' is not s3://bucket or "
                        + "s3://bucket/prefix: name the bucket");
            }
            String location = "s3://" + name + (prefix.isEmpty() ? "" : "/" + prefix);
            return new Bucket(name, location, "bucket " + name + " of ICEBERG_WAREHOUSE=" + location,
                    "point ICEBERG_WAREHOUSE at an existing bucket");
        }
        if (configured.matches("[A-Za-z][A-Za-z0-9+.-]*:.*") && !configured.startsWith("file:")) {
            throw new InvalidSettingException("ICEBERG_WAREHOUSE='" + configured + "' is neither a directory nor "
                    + "s3://bucket/prefix, the warehouses the service writes to");
        }
        return null;
    }

    /** Iceberg's S3FileIO as the service configures it; its client is made on first use. */
    private static S3FileIO s3FileIO(CdcProperties.S3 settings, Path staging) {
        S3FileIO fileIO = new S3FileIO();
        fileIO.initialize(s3Properties(settings, staging));
        return fileIO;
    }

    /** The properties S3FileIO is initialized with (no keys: those come from the SDK's default chain). */
    private static Map<String, String> s3Properties(CdcProperties.S3 settings, Path staging) {
        Map<String, String> io = new HashMap<>();
        // Iceberg's client, asking for checksums only where S3 requires them, as the S3 sink's client does.
        io.put(S3FileIOProperties.CLIENT_FACTORY, WarehouseS3ClientFactory.class.getName());
        // The SDK's JDK-based client, as the S3 sink's (the Apache and Netty clients are not shipped).
        io.put(HttpClientProperties.CLIENT_TYPE, HttpClientProperties.CLIENT_TYPE_URLCONNECTION);
        io.put(HttpClientProperties.URLCONNECTION_CONNECTION_TIMEOUT_MS, "10000");
        io.put(HttpClientProperties.URLCONNECTION_SOCKET_TIMEOUT_MS, "120000");
        S3Checks.endpoint(settings).ifPresent(endpoint -> io.put(S3FileIOProperties.ENDPOINT, endpoint.toString()));
        io.put(S3FileIOProperties.PATH_STYLE_ACCESS, Boolean.toString(settings.pathStyle()));
        S3Checks.region(settings).ifPresent(region -> io.put(AwsClientProperties.CLIENT_REGION, region));
        // No keys here: the client's provider is the SDK's default chain (environment, profile, instance role).
        io.put(S3FileIOProperties.STAGING_DIRECTORY, staging.toString());
        // No stack trace kept per FileIO (it only serves a warning about an instance never closed).
        io.put("init-creation-stacktrace", "false");
        return io;
    }

    /**
     * The FileIO of this warehouse as catalog properties ({@code io-impl} and its settings): what a REST catalog's
     * client makes its tables' FileIO from, unless the catalog hands out its own (then its properties win).
     */
    public Map<String, String> ioProperties() {
        Map<String, String> properties = bucket == null ? new HashMap<>()
                : s3Properties(this.properties.s3(), staging);
        properties.put(CatalogProperties.FILE_IO_IMPL, io.getClass().getName());
        return properties;
    }

    /** The location tables go under, without a trailing slash. */
    public String location() {
        return location;
    }

    /** Whether the warehouse is in S3. */
    public boolean inS3() {
        return bucket != null;
    }

    /** The FileIO of every table: LocalFileIO or S3FileIO. */
    public FileIO io() {
        return io;
    }

    /** Where S3FileIO stages uploads (null for a local warehouse). */
    Path stagingDirectory() {
        return staging;
    }

    /**
     * Readiness (shown as icebergWarehouse): the warehouse's bucket answers a HEAD within
     * {@link #HEALTH_TIMEOUT}, or its own directory takes a new file. The bucket may be another than the file
     * sink's, which exportOutput checks.
     */
    public void checkHealth(Health.Builder builder) throws IOException {
        builder.withDetail("location", location);
        if (bucket == null) {
            // Under EXPORT_OUTPUT_DIR by default, which exportOutput checks; a directory of its own was made at
            // start-up and must still take files (a check never creates it again).
            if (!properties.iceberg().warehouse().isBlank()) {
                Files.delete(Files.createTempFile(directory, ".health-check", ""));
            }
        } else {
            ((S3FileIO) io).client().headBucket(b -> b.bucket(bucket)
                    .overrideConfiguration(o -> o.apiCallTimeout(HEALTH_TIMEOUT)));
        }
        builder.up();
    }

    @Override
    public void checkSettings() {
        if (bucket == null) {
            checkDirectory();
        } else {
            checkBucket();
            prepareStaging();
        }
    }

    /** ICEBERG_WAREHOUSE, when set, must be a directory the service can write (created if missing). */
    private void checkDirectory() {
        if (properties.iceberg().warehouse().isBlank()) {
            return; // under EXPORT_OUTPUT_DIR, which the file store checks
        }
        try {
            Files.createDirectories(directory);
            Files.delete(Files.createTempFile(directory, ".write-check", ""));
        } catch (IOException | UnsupportedOperationException e) {
            throw new InvalidSettingException("ICEBERG_WAREHOUSE=" + directory + " is not a directory the service "
                    + "can write (" + e.getMessage() + "); create it or point ICEBERG_WAREHOUSE elsewhere", e);
        }
    }

    /** The bucket exists and answers to these credentials, asked through the client exports will write with. */
    private void checkBucket() {
        S3Client client;
        try {
            client = ((S3FileIO) io).client();
        } catch (SdkClientException e) {
            throw new InvalidSettingException(S3Checks.NO_REGION, e);
        }
        try {
            client.headBucket(b -> b.bucket(bucket).overrideConfiguration(o -> o.apiCallTimeout(CHECK_TIMEOUT)));
        } catch (SdkException e) {
            throw S3Checks.unusableBucket(e, bucketNamed, bucketInstead, properties.s3().endpoint());
        }
    }

    /**
     * A directory of this process's alone for S3FileIO's staged parts (it creates files there with the default
     * permissions); what a killed process left beside it is removed.
     */
    private void prepareStaging() {
        Path base = staging.getParent();
        try {
            Files.createDirectories(base);
            try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(base, STAGING_PREFIX + "*")) {
                for (Path leftover : leftovers) {
                    String pid = leftover.getFileName().toString().substring(STAGING_PREFIX.length());
                    if (leftover.equals(staging)
                            || pid.matches("\\d{1,18}") && ProcessHandle.of(Long.parseLong(pid)).isEmpty()) {
                        FileSystemUtils.deleteRecursively(leftover);
                        log.info("Removed Iceberg upload staging files an earlier process left in {}", leftover);
                    }
                }
            }
            Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        } catch (IOException | UnsupportedOperationException e) {
            String setting = properties.parallel().chunkDir().isBlank() ? "java.io.tmpdir" : "EXPORT_CHUNK_DIR";
            throw new InvalidSettingException(setting + "=" + base + " is not a usable directory for staging "
                    + "Iceberg uploads to S3 (" + e.getMessage() + "): set EXPORT_CHUNK_DIR to a writable directory",
                    e);
        }
    }

    @Override
    public void destroy() throws IOException {
        io.close();
        if (staging != null) {
            FileSystemUtils.deleteRecursively(staging);
        }
    }
}
