package com.cdcexport.export.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.Random;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import org.springframework.core.io.Resource;
import org.springframework.util.unit.DataSize;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.destination.ExportFileStore.PartFile;
import com.cdcexport.export.destination.ExportFileStore.PendingFile;
import com.cdcexport.support.S3MockProcess;

/** The S3 sink against a real S3 API (S3Mock as a separate process): what appears, when, and what is cleaned up. */
class S3SinkTest {

    private static final String BUCKET = "exports";
    private static final int PART = (int) DataSize.ofMegabytes(5).toBytes();

    private static S3MockProcess server;
    private static S3Client s3;

    private String prefix;
    private S3Sink sink;

    @BeforeAll
    static void startS3() {
        server = S3MockProcess.start(BUCKET);
        s3 = server.client();
    }

    @AfterAll
    static void stopS3() {
        s3.close();
        server.close();
    }

    @BeforeEach
    void freshPrefix() {
        prefix = "t-" + UUID.randomUUID() + "/";
        sink = new S3Sink(settings(BUCKET, server.endpoint(), "5MB"), server.client());
    }

    private CdcProperties.S3 settings(String bucket, String endpoint, String partSize) {
        return new CdcProperties.S3(bucket, prefix, endpoint, true, "us-east-1", DataSize.parse(partSize), 2);
    }

    private static byte[] bytes(int length) {
        byte[] data = new byte[length];
        new Random(length).nextBytes(data);
        return data;
    }

    @Test
    void aLargeFileIsAMultipartUploadThatAppearsOnlyWhenPublished() throws IOException {
        byte[] data = bytes(2 * PART + 12345);
        try (PendingFile file = sink.create("big.csv", 1)) {
            for (int i = 0; i < data.length; i += 8192) { // as COPY writes: in small pieces
                file.stream().write(data, i, Math.min(8192, data.length - i));
            }
            assertThat(server.keys(BUCKET, prefix)).isEmpty();
            assertThat(server.openUploads(BUCKET, prefix)).extracting(u -> u.key())
                    .as("uploaded under the attempt's own key").containsExactly(prefix + "big.csv.1.part");

            file.publish();
        }
        assertThat(server.object(BUCKET, prefix + "big.csv")).isEqualTo(data);
        assertThat(server.keys(BUCKET, prefix)).containsExactly(prefix + "big.csv");
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
    }

    @Test
    void aSmallFileLeavesNothingInTheBucketUntilPublished() throws IOException {
        try (PendingFile file = sink.create("small.csv", 1)) {
            file.stream().write("id\n1\n".getBytes(StandardCharsets.UTF_8));
            file.stream().close();
            assertThat(server.keys(BUCKET, prefix)).isEmpty();
            file.publish();
        }
        assertThat(new String(server.object(BUCKET, prefix + "small.csv"), StandardCharsets.UTF_8))
                .isEqualTo("id\n1\n");
    }

    @Test
    void anEmptyFileIsPublishedAsAnEmptyObject() throws IOException {
        try (PendingFile file = sink.create("empty.csv", 1)) {
            file.publish();
        }
        assertThat(server.object(BUCKET, prefix + "empty.csv")).isEmpty();
    }

    @Test
    void publishNeverOverwritesAnExistingObject() throws IOException {
        for (int size : new int[] {10, PART + 10}) {
            String name = "taken-" + size + ".csv";
            s3.putObject(b -> b.bucket(BUCKET).key(prefix + name), RequestBody.fromString("precious"));
            try (PendingFile file = sink.create(name, 2)) {
                file.stream().write(bytes(size));
                assertThatThrownBy(file::publish).isInstanceOf(FileAlreadyExistsException.class);
                assertThat(new String(server.object(BUCKET, prefix + name), StandardCharsets.UTF_8))
                        .isEqualTo("precious");
            }
        }
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
    }

    @Test
    void publishCanBeRetriedOnceTheTakenNameIsFree() throws IOException {
        for (int size : new int[] {10, PART + 10}) {
            String name = "retry-" + size + ".csv";
            byte[] mine = bytes(size);
            s3.putObject(b -> b.bucket(BUCKET).key(prefix + name), RequestBody.fromString("left over"));
            try (PendingFile file = sink.create(name, 2)) {
                file.stream().write(mine);
                assertThatThrownBy(file::publish).isInstanceOf(FileAlreadyExistsException.class);

                sink.deletePublished(name);
                file.publish();
            }
            assertThat(server.object(BUCKET, prefix + name)).as("size %d", size).isEqualTo(mine);
        }
        assertThat(server.keys(BUCKET, prefix)).containsExactly(prefix + "retry-10.csv",
                prefix + "retry-" + (PART + 10) + ".csv");
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
    }

    /*
     * S3Mock 4.11 keeps every upload of a key together with the key's object: aborting any upload of a key deletes
     * its object. Each attempt uploads to a key of its own, so removing what one attempt left never reaches the
     * file another attempt published.
     */
    @Test
    void removingWhatAnEarlierAttemptLeftNeverTouchesTheFileALaterAttemptPublished() throws IOException {
        byte[] published = bytes(PART + 7);
        PendingFile stalled = sink.create("shared.csv", 1);
        stalled.stream().write(bytes(PART + 1));
        PendingFile staged = sink.create("shared.csv", 2);
        staged.stream().write(bytes(PART + 3));
        try (PendingFile later = sink.create("shared.csv", 3)) {
            later.stream().write(published);
            later.publish();
        }
        assertThatThrownBy(staged::publish).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(sink.partFiles()).containsExactlyInAnyOrder(new PartFile("shared.csv", 1),
                new PartFile("shared.csv", 2));

        sink.deletePart("shared.csv", 2);
        stalled.close();
        staged.close();
        sink.deletePart("shared.csv", 1);

        assertThat(server.object(BUCKET, prefix + "shared.csv")).isEqualTo(published);
        assertThat(server.keys(BUCKET, prefix)).containsExactly(prefix + "shared.csv");
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
        assertThat(sink.partFiles()).isEmpty();
    }

    @Test
    void closingWithoutPublishingAbortsTheUploadAndLeavesNothing() throws IOException {
        try (PendingFile file = sink.create("abandoned.csv", 1)) {
            file.stream().write(bytes(PART + 1));
        }
        assertThat(server.keys(BUCKET, prefix)).isEmpty();
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
    }

    @Test
    void deletingOneAttemptsPartAbortsOnlyThatAttemptsUpload() throws IOException {
        try (PendingFile first = sink.create("shared.csv", 1); PendingFile second = sink.create("shared.csv", 2)) {
            first.stream().write(bytes(PART + 1));
            byte[] data = bytes(PART + 2);
            second.stream().write(data);
            assertThat(sink.partFiles()).containsExactlyInAnyOrder(new PartFile("shared.csv", 1),
                    new PartFile("shared.csv", 2));

            sink.deletePart("shared.csv", 1);

            assertThat(sink.partFiles()).containsExactly(new PartFile("shared.csv", 2));
            second.publish();
            assertThat(server.object(BUCKET, prefix + "shared.csv")).isEqualTo(data);
        }
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
        assertThat(server.keys(BUCKET, prefix)).containsExactly(prefix + "shared.csv");
    }

    @Test
    void deleteAllRemovesTheObjectAndEveryAttemptsUploadButNoOtherFile() throws IOException {
        try (PendingFile done = sink.create("other.csv", 1)) {
            done.publish();
        }
        try (PendingFile done = sink.create("job.csv", 1)) {
            done.stream().write(bytes(10));
            done.publish();
        }
        PendingFile open = sink.create("job.csv", 2);
        open.stream().write(bytes(PART + 1));

        sink.deleteAll("job.csv");

        assertThat(server.keys(BUCKET, prefix)).containsExactly(prefix + "other.csv");
        assertThat(server.openUploads(BUCKET, prefix)).isEmpty();
        open.close();
    }

    @Test
    void aDownloadFromAnOffsetFetchesOnlyTheRestOfTheObject() throws IOException {
        byte[] data = bytes(100_000);
        try (PendingFile file = sink.create("ranged.csv", 1)) {
            file.stream().write(data);
            file.publish();
        }
        Resource resource = sink.published("ranged.csv").orElseThrow();
        assertThat(resource.contentLength()).isEqualTo(data.length);
        try (InputStream in = resource.getInputStream()) {
            assertThat(in.skip(99_000)).isEqualTo(99_000);
            assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(data, 99_000, data.length));
        }
        assertThat(sink.published("absent.csv")).isEmpty();
    }

    @Test
    void aMissingBucketStopsStartUpNamingS3Bucket() {
        assertThatThrownBy(() -> new S3Sink(settings("no-such-bucket", server.endpoint(), "8MB"), server.client()))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("S3_BUCKET=no-such-bucket does not exist at S3_ENDPOINT=");
    }

    @Test
    void anEndpointThatDoesNotAnswerStopsStartUpNamingS3Endpoint() {
        String nowhere = "http://127.0.0.1:" + com.cdcexport.support.ServiceProcess.freePort();
        assertThatThrownBy(() -> new S3Sink(settings(BUCKET, nowhere, "8MB"), S3MockProcess.client(nowhere)))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("Cannot reach S3 at S3_ENDPOINT=" + nowhere);
    }

    @Test
    void aPartSizeBelowS3sMinimumStopsStartUp() {
        assertThatThrownBy(() -> sinkWithPart("4MB")).isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("S3_PART_SIZE=4MB must be between 5MB");
    }

    private S3Sink sinkWithPart(String size) {
        return new S3Sink(settings(BUCKET, server.endpoint(), size), server.client());
    }
}
