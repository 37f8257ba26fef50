package com.cdcexport.export.destination;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LargeTableProcessTest;
import com.cdcexport.support.S3MockProcess;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TcpProxy;
import com.cdcexport.support.TestDatabase;

/**
 * The packaged service on EXPORT_SINK=s3 against a real S3 API (S3Mock as a process): the objects equal the
 * local sink's files, and a kill -9, an endpoint that goes away, or a second instance leave no open upload and
 * nothing published without a commit.
 */
class S3SinkIT extends LargeTableProcessTest {

    private static final String BUCKET = "cdc-exports";
    private static S3MockProcess s3;

    @TempDir
    Path otherOutput;

    private final String prefix = "it-" + UUID.randomUUID().toString().substring(0, 8) + "/";

    @BeforeAll
    static void startS3() {
        s3 = S3MockProcess.start(BUCKET);
    }

    @AfterAll
    static void stopS3() {
        s3.close();
    }

    /** Set by a test that replaced the large table with a small one; refilled only if another test follows. */
    private static boolean largeTableGone;

    @BeforeEach
    void largeTable() {
        if (largeTableGone) {
            TestDatabase.resetWithUsers(USERS);
            largeTableGone = false;
        }
    }

    private Map<String, String> s3Env(Path outputDir, String... more) {
        Map<String, String> env = new HashMap<>(s3.sinkEnvironment(BUCKET, prefix));
        env.put("EXPORT_OUTPUT_DIR", outputDir.toString());
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    @Test
    void fullAndIncrementalExportsOnS3AreTheLocalSinksFilesByteForByte() throws Exception {
        String local = "local-" + UUID.randomUUID().toString().substring(0, 8);
        String remote = "s3-" + UUID.randomUUID().toString().substring(0, 8);
        ServiceProcess[] instances = ServiceProcess.startTogether(Map.of("EXPORT_OUTPUT_DIR", output.toString()),
                s3Env(otherOutput));
        try (ServiceProcess onDisk = instances[0];
             ServiceProcess onS3 = instances[1]) {
            for (String type : new String[] {"full", "incremental"}) {
                if (type.equals("incremental")) {
                    jdbc.update("UPDATE users SET name = name || ' (renamed)' WHERE id % 1000 = 0");
                }
                Api.Response a = onDisk.api().post("/exports/" + type, local);
                Api.Response b = onS3.api().post("/exports/" + type, remote);
                assertThat(TestDatabase.awaitJob(a.field("jobId"))).isEqualTo("completed");
                assertThat(TestDatabase.awaitJob(b.field("jobId"))).as(onS3.log()).isEqualTo("completed");

                String key = prefix + b.field("outputFilename");
                try (InputStream file = Files.newInputStream(output.resolve(a.field("outputFilename")));
                     S3Client client = s3.client();
                     InputStream object = client.getObject(r -> r.bucket(BUCKET).key(key))) {
                    assertThat(sha256(object)).as(type).isEqualTo(sha256(file));
                }
                if (type.equals("incremental")) {
                    String body = onS3.api().get("/exports/jobs/" + b.field("jobId") + "/file", remote).body();
                    assertThat(body).isEqualTo(Files.readString(output.resolve(a.field("outputFilename"))))
                            .hasLineCount(USERS / 1000 + 1);
                    Api.Response range = onS3.api().send("GET", "/exports/jobs/" + b.field("jobId") + "/file",
                            Map.of("X-Consumer-ID", remote, "Range", "bytes=10-19"), null);
                    assertThat(range.status()).isEqualTo(206);
                    assertThat(range.body()).isEqualTo(body.substring(10, 20));
                    Api.Response beyond = onS3.api().send("GET", "/exports/jobs/" + b.field("jobId") + "/file",
                            Map.of("X-Consumer-ID", remote, "Range", "bytes=999999999-"), null);
                    assertThat(beyond.status()).isEqualTo(416);
                    assertThat(beyond.header("Content-Range")).isEqualTo("bytes */" + body.length());
                    Api.Response otherUnit = onS3.api().send("GET", "/exports/jobs/" + b.field("jobId") + "/file",
                            Map.of("X-Consumer-ID", remote, "Range", "items=0-5"), null);
                    assertThat(otherUnit.status()).as("an unknown range unit is ignored").isEqualTo(200);
                    assertThat(otherUnit.body()).isEqualTo(body);
                }
            }
            assertThat(s3.openUploads(BUCKET, prefix)).isEmpty();
            assertThat(s3.keys(BUCKET, prefix)).as("two exports' files and manifests, no upload marker").hasSize(4)
                    .allMatch(k -> k.endsWith(".csv") || k.endsWith(".manifest.json"));
            assertThat(otherOutput).as("the S3 instance writes nothing locally").isEmptyDirectory();
            assertThat(onS3.api().get("/actuator/health/readiness", null).status()).isEqualTo(200);
            assertThat(onS3.log()).contains("export files go to s3://" + BUCKET + "/" + prefix);
            assertThat(onS3.log()).doesNotContain(S3MockProcess.SECRET_KEY);
        }
    }

    @Test
    void killedMidUploadLeavesNoOpenUploadAfterRestartAndTheJobRunsAgain() throws IOException {
        Map<String, String> env = s3Env(otherOutput, "INSTANCE_ID", "s3-crash-test");
        String consumer = "killed-" + UUID.randomUUID().toString().substring(0, 8);
        Api.Response started;
        try (ServiceProcess service = ServiceProcess.start(env)) {
            started = service.api().post("/exports/full", consumer);
            awaitOpenUpload();

            service.kill();
        }
        String key = prefix + started.field("outputFilename");
        assertThat(s3.keys(BUCKET, prefix)).as("nothing published: the upload is under the attempt's own key")
                .doesNotContain(key);
        assertThat(s3.openUploads(BUCKET, prefix)).as("the kill left its upload open").hasSize(1);
        assertThat(TestDatabase.jobStatus(started.field("jobId"))).isEqualTo("running");
        assertThat(watermarks(consumer)).isZero();

        try (ServiceProcess restarted = ServiceProcess.start(env)) {
            assertThat(TestDatabase.awaitJob(started.field("jobId"))).as(restarted.log()).isEqualTo("completed");
            assertThat(s3.openUploads(BUCKET, prefix)).as("the first attempt's upload was aborted").isEmpty();
            assertThat(s3.keys(BUCKET, prefix)).containsExactly(key, prefix + started.field("manifestFilename"));
            assertThat(new String(s3.object(BUCKET, key), java.nio.charset.StandardCharsets.UTF_8))
                    .hasLineCount(USERS + 1);
            assertThat(watermarks(consumer)).isEqualTo(1);
        }
    }

    @Test
    void anEndpointThatGoesAwayMidExportFailsTheJobMovesNothingAndARetrySucceeds() throws IOException {
        String consumer = "away-" + UUID.randomUUID().toString().substring(0, 8);
        try (TcpProxy endpoint = TcpProxy.to(s3.port())) {
            Map<String, String> env = new HashMap<>(s3Env(otherOutput));
            env.putAll(S3MockProcess.sinkEnvironment(BUCKET, prefix, "http://127.0.0.1:" + endpoint.port()));
            String failedName;
            try (ServiceProcess service = ServiceProcess.start(env)) {
                Api.Response started = service.api().post("/exports/full", consumer);
                failedName = started.field("outputFilename");
                awaitOpenUpload();

                endpoint.cut();
                assertThat(TestDatabase.awaitJob(started.field("jobId"))).isEqualTo("failed");
                String error = service.api().get("/exports/jobs/" + started.field("jobId"), consumer)
                        .field("error");
                assertThat(error).as("the consumer's message names no endpoint").contains("could not be written")
                        .doesNotContain("127.0.0.1");
                assertThat(jdbc.queryForObject("SELECT error_detail FROM export_jobs WHERE id = ?::uuid",
                        String.class, started.field("jobId")))
                        .contains("S3_ENDPOINT=http://127.0.0.1:" + endpoint.port(), "Connection");
                assertThat(watermarks(consumer)).isZero();
                assertThat(service.api().get("/actuator/health/readiness", null).status()).isEqualTo(503);

                endpoint.restore();
                assertThat(s3.keys(BUCKET, prefix)).doesNotContain(prefix + failedName);
                Api.Response retry = service.api().post("/exports/full", consumer);
                assertThat(TestDatabase.awaitJob(retry.field("jobId"))).as(service.log()).isEqualTo("completed");
                assertThat(watermarks(consumer)).isEqualTo(1);
                assertThat(service.log()).doesNotContain(S3MockProcess.SECRET_KEY);
            }
            try (ServiceProcess restarted = ServiceProcess.start(env)) {
                // The failed attempt could not abort its upload while the endpoint was away; start-up does now.
                assertThat(s3.openUploads(BUCKET, prefix)).isEmpty();
                assertThat(s3.keys(BUCKET, prefix)).as("the retry's file and manifest").hasSize(2)
                        .allMatch(k -> k.endsWith(".csv") || k.endsWith(".manifest.json"))
                        .doesNotContain(prefix + failedName);
            }
        }
    }

    @Test
    void twoInstancesSharingOnlyTheDatabaseAndTheBucketServeEachOthersFiles() throws IOException {
        String consumer = "pair-" + UUID.randomUUID().toString().substring(0, 8);
        // A thousand rows are enough here; deleting the others would capture 599,000 deletes.
        largeTableGone = true;
        TestDatabase.resetWithUsers(1000);
        ServiceProcess[] instances = ServiceProcess.startTogether(s3Env(output, "INSTANCE_ID", "s3-a"),
                s3Env(otherOutput, "INSTANCE_ID", "s3-b"));
        try (ServiceProcess first = instances[0];
             ServiceProcess second = instances[1]) {
            Api.Response full = first.api().post("/exports/full", consumer);
            assertThat(TestDatabase.awaitJob(full.field("jobId"))).isEqualTo("completed");
            jdbc.update("UPDATE users SET name = 'changed' WHERE id <= 10");
            Api.Response delta = second.api().post("/exports/delta", consumer);
            assertThat(TestDatabase.awaitJob(delta.field("jobId"))).isEqualTo("completed");

            assertThat(second.api().get("/exports/jobs/" + full.field("jobId") + "/file", consumer).body())
                    .hasLineCount(1001);
            assertThat(first.api().get("/exports/jobs/" + delta.field("jobId") + "/file", consumer).body())
                    .hasLineCount(11);
            assertThat(output).isEmptyDirectory();
            assertThat(otherOutput).isEmptyDirectory();
            assertThat(s3.openUploads(BUCKET, prefix)).isEmpty();
        }
    }

    /** The export is streaming into its multipart upload: at least one part has gone out. */
    private void awaitOpenUpload() {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!s3.openUploads(BUCKET, prefix).isEmpty()) {
                return;
            }
            IntegrationTest.sleep(20);
        }
        throw new AssertionError("the export never started its upload");
    }

    private static int watermarks(String consumer) {
        return jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = ?", Integer.class, consumer);
    }

    private static String sha256(InputStream in) throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
