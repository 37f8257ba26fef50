package com.cdcexport.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * Adobe S3Mock (target/s3mock/s3mock.jar, copied there by the build) as a separate process on a free port, with
 * its files under target/: a real S3 API over HTTP without Docker. To make the endpoint go away and come back, the
 * tests put a {@link TcpProxy} in front of it: S3Mock 4.11 restarted on its old files cannot list the uploads that
 * were open before (its ListMultipartUploads then fails with a 500).
 */
public final class S3MockProcess implements AutoCloseable {

    public static final String ACCESS_KEY = "test-access-key";
    public static final String SECRET_KEY = "test-secret-key-never-logged";

    private static final Path JAR = Path.of("target/s3mock/s3mock.jar");

    private final int port;
    private final Path root;
    private final List<String> buckets;
    private Process process;
    private Path log;
    private S3Client inspector;

    private S3MockProcess(int port, Path root, List<String> buckets) {
        this.port = port;
        this.root = root;
        this.buckets = buckets;
    }

    /** Starts S3Mock with these buckets (created empty); returns once it answers. */
    public static S3MockProcess start(String... buckets) {
        try {
            Files.createDirectories(Path.of("target/s3mock-data"));
            Path root = Files.createTempDirectory(Path.of("target/s3mock-data"), "root-");
            S3MockProcess s3 = new S3MockProcess(ServiceProcess.freePort(), root, List.of(buckets));
            s3.launch();
            return s3;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch() throws IOException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run the build (./mvnw test-compile) first, it "
                    + "copies S3Mock's jar there");
        }
        log = Files.createTempFile(Path.of("target/s3mock-data"), "s3mock-" + port + "-", ".log");
        process = new ProcessBuilder(ServiceProcess.javaBinary(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-jar", JAR.toString(),
                "--com.adobe.testing.s3mock.http-port=" + port,
                "--server.port=0",
                "--server.address=127.0.0.1",
                "--com.adobe.testing.s3mock.store.root=" + root.toAbsolutePath(),
                "--com.adobe.testing.s3mock.store.initial-buckets=" + String.join(",", buckets),
                "--logging.level.root=warn")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        awaitReady(Duration.ofSeconds(120));
    }

    private void awaitReady(Duration timeout) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("S3Mock exited during start-up; log:\n" + log());
            }
            try {
                HttpResponse<Void> response = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            IntegrationTest.sleep(200);
        }
        throw new AssertionError("S3Mock not ready within " + timeout + "; log:\n" + log());
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The service's settings for the S3 sink on this server. */
    public Map<String, String> sinkEnvironment(String bucket, String prefix) {
        return sinkEnvironment(bucket, prefix, endpoint());
    }

    /** As {@link #sinkEnvironment(String, String)}, reaching this server through {@code endpoint} (a proxy). */
    public static Map<String, String> sinkEnvironment(String bucket, String prefix, String endpoint) {
        return Map.of("EXPORT_SINK", "s3", "S3_BUCKET", bucket, "S3_PREFIX", prefix, "S3_ENDPOINT", endpoint,
                "S3_PATH_STYLE", "true", "AWS_REGION", "us-east-1", "AWS_ACCESS_KEY_ID", ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    }

    public S3Client client() {
        return client(endpoint());
    }

    /** A client with the test credentials for any endpoint (one that is not there, too). */
    public static S3Client client(String endpoint) {
        return S3Client.builder().endpointOverride(URI.create(endpoint)).forcePathStyle(true)
                .region(Region.US_EAST_1).httpClientBuilder(UrlConnectionHttpClient.builder())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY,
                        SECRET_KEY)))
                .build();
    }

    /** Keys of the objects under {@code prefix}. */
    public List<String> keys(String bucket, String prefix) {
        return inspector().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().stream()
                .map(o -> o.key()).sorted().toList();
    }

    public List<MultipartUpload> openUploads(String bucket, String prefix) {
        return inspector().listMultipartUploadsPaginator(b -> b.bucket(bucket).prefix(prefix)).uploads().stream()
                .toList();
    }

    public byte[] object(String bucket, String key) {
        return inspector().getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
    }

    /**
     * One client for the tests' looks at the bucket: building a client costs more CPU than the request, and tests
     * poll openUploads every few milliseconds while an export they race runs on the same cores.
     */
    private synchronized S3Client inspector() {
        if (inspector == null) {
            inspector = client();
        }
        return inspector;
    }

    public void stop() {
        synchronized (this) {
            if (inspector != null) {
                inspector.close();
                inspector = null;
            }
        }
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        stop();
    }
}
