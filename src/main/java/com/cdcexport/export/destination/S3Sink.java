package com.cdcexport.export.destination;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import org.springframework.boot.health.contributor.Health;
import org.springframework.core.io.Resource;
import org.springframework.scheduling.concurrent.CustomizableThreadFactory;
import org.springframework.util.unit.DataSize;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.destination.ExportFileStore.PartFile;
import com.cdcexport.export.destination.ExportFileStore.PendingFile;

/**
 * EXPORT_SINK=s3: files are objects under S3_PREFIX in S3_BUCKET. A file is streamed into a multipart upload
 * ({@link S3Upload}) of the attempt's own key, {@code name.<attempt>.part}, as the local sink writes its
 * {@code name.<attempt>.part} file, and becomes visible under its final name only when published: a copy inside
 * the store that refuses to replace an object. A small file is one conditional PUT of the final name instead.
 *
 * <p>So everything an attempt leaves behind (an open upload, an uploaded object not yet copied) lies under a key
 * of that attempt alone: removing it never touches the final name, which other attempts of the job publish to.
 * That holds on stores that keep the uploads of a key together with its object (S3Mock: aborting any upload of a
 * key deletes the key's object), where uploads to the shared final name let one attempt's clean-up delete the
 * file another attempt had published and committed. The final name is removed only by {@link #deletePublished}
 * (which the caller fences, see JobFiles) and {@link #deleteAll} (a job that has finished).
 */
final class S3Sink implements ExportSink {

    static final DataSize MIN_PART = DataSize.ofMegabytes(5);
    static final DataSize MAX_PART = DataSize.ofMegabytes(512);
    /** The largest object one CopyObject request copies; larger ones are copied in parts of {@link #COPY_PART}. */
    static final long MAX_SINGLE_COPY = DataSize.ofGigabytes(5).toBytes();
    static final long COPY_PART = DataSize.ofGigabytes(1).toBytes();

    private static final Logger log = LoggerFactory.getLogger(S3Sink.class);

    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final String location;
    private final String endpoint;
    private final int partSize;
    private final int partsInFlight;
    private final ExecutorService uploads;

    S3Sink(CdcProperties.S3 settings) {
        this(validated(settings), client(settings));
    }

    S3Sink(CdcProperties.S3 settings, S3Client client) {
        validated(settings);
        this.s3 = client;
        this.bucket = settings.bucket().strip();
        this.prefix = settings.normalizedPrefix();
        this.location = settings.location();
        this.endpoint = settings.endpoint().strip();
        this.partSize = (int) settings.partSize().toBytes();
        this.partsInFlight = settings.partsInFlight();
        this.uploads = Executors.newCachedThreadPool(daemon("s3-part-"));
        checkBucket(settings);
    }

    /** Settings that are wrong whatever the store says, checked before any request. */
    private static CdcProperties.S3 validated(CdcProperties.S3 settings) {
        if (settings.bucket().isBlank()) {
            throw new InvalidSettingException("S3_BUCKET is not set: EXPORT_SINK=s3 needs the bucket to write to");
        }
        DataSize part = settings.partSize();
        if (part.compareTo(MIN_PART) < 0 || part.compareTo(MAX_PART) > 0) {
            String text = part.toBytes() % (1 << 20) == 0 ? part.toMegabytes() + "MB" : part.toBytes() + "B";
            throw new InvalidSettingException("S3_PART_SIZE=" + text + " must be between 5MB (S3's smallest part) "
                    + "and 512MB");
        }
        return settings;
    }

    private static CustomizableThreadFactory daemon(String prefix) {
        CustomizableThreadFactory threads = new CustomizableThreadFactory(prefix);
        threads.setDaemon(true);
        return threads;
    }

    private static S3Client client(CdcProperties.S3 settings) {
        S3ClientBuilder builder = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofMinutes(2)))
                .forcePathStyle(settings.pathStyle())
                // Checksums only where S3 demands them: the SDK's newer defaults (CRC trailers in aws-chunked
                // bodies) are not understood by every S3-compatible store, and cost CPU on every byte. Over the
                // wire, integrity is TLS's job: use an https endpoint outside a test bench.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        S3Checks.endpoint(settings).ifPresent(builder::endpointOverride);
        S3Checks.region(settings).ifPresent(region -> builder.region(Region.of(region)));
        try {
            return builder.build();
        } catch (SdkClientException e) {
            throw new InvalidSettingException(S3Checks.NO_REGION, e);
        }
    }

    /** A missing bucket or an endpoint that does not answer stops start-up instead of failing every export. */
    private void checkBucket(CdcProperties.S3 settings) {
        try {
            s3.headBucket(b -> b.bucket(bucket));
        } catch (S3Exception | SdkClientException e) {
            s3.close();
            throw S3Checks.unusableBucket(e, "S3_BUCKET=" + bucket, "set S3_BUCKET to an existing bucket",
                    settings.endpoint());
        }
    }

    /** Runs one S3 request; a failure becomes an IOException saying what was being done and why it failed. */
    <T> T call(String what, String key, Supplier<T> request) throws IOException {
        try {
            return request.get();
        } catch (SdkException e) {
            throw failure(what, key, e);
        }
    }

    /** A client-side failure (no connection) names the endpoint it could not reach. */
    IOException failure(String what, String key, SdkException e) {
        return new IOException("S3 " + what + " of " + location(key) + " failed: " + S3Checks.describe(e)
                + (e instanceof SdkClientException && !endpoint.isEmpty() ? " (S3_ENDPOINT=" + endpoint + ")" : ""),
                e);
    }

    String key(String name) {
        return prefix + name;
    }

    private String location(String key) {
        return "s3://" + bucket + "/" + key;
    }

    S3Client client() {
        return s3;
    }

    String bucket() {
        return bucket;
    }

    int partSize() {
        return partSize;
    }

    int partsInFlight() {
        return partsInFlight;
    }

    ExecutorService uploads() {
        return uploads;
    }

    @Override
    public boolean exists(String name) throws IOException {
        return head(key(name)).isPresent();
    }

    Optional<HeadObjectResponse> head(String key) throws IOException {
        try {
            return Optional.of(call("HEAD", key, () -> s3.headObject(b -> b.bucket(bucket).key(key))));
        } catch (IOException e) {
            if (e.getCause() instanceof NoSuchKeyException
                    || e.getCause() instanceof S3Exception s && s.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public PendingFile create(String name, int attempt) {
        return new S3Upload(this, name, attempt);
    }

    /** The key attempt {@code attempt} uploads {@code name} to: its alone, never the final name. */
    String stagingKey(String name, int attempt) {
        return key(ExportFileStore.partName(name, attempt));
    }

    /**
     * Copies an uploaded object to its final name inside the store, refusing to replace an object there: one
     * request up to 5 GiB (S3's limit for it), a multipart copy above.
     */
    void copy(String from, String to, long size) throws IOException {
        if (size <= MAX_SINGLE_COPY) {
            call("COPY", to, () -> s3.copyObject(b -> b.sourceBucket(bucket).sourceKey(from)
                    .destinationBucket(bucket).destinationKey(to).ifNoneMatch("*")));
            return;
        }
        String uploadId = call("CREATE upload", to, () -> s3.createMultipartUpload(b -> b.bucket(bucket).key(to))
                .uploadId());
        try {
            List<CompletedPart> parts = new ArrayList<>();
            for (long offset = 0; offset < size; offset += COPY_PART) {
                int number = parts.size() + 1;
                String range = "bytes=" + offset + "-" + (Math.min(size, offset + COPY_PART) - 1);
                String etag = call("COPY part", to, () -> s3.uploadPartCopy(b -> b.sourceBucket(bucket)
                        .sourceKey(from).destinationBucket(bucket).destinationKey(to).uploadId(uploadId)
                        .partNumber(number).copySourceRange(range))).copyPartResult().eTag();
                parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
            }
            call("COMPLETE upload", to, () -> s3.completeMultipartUpload(b -> b.bucket(bucket).key(to)
                    .uploadId(uploadId).ifNoneMatch("*").multipartUpload(m -> m.parts(parts))));
        } catch (IOException e) {
            try {
                abort(to, uploadId);
            } catch (IOException abortFailed) {
                // Left open under the final name: the fenced removal of that name (deletePublished) aborts it.
                e.addSuppressed(abortFailed);
            }
            throw e;
        }
    }

    /** Removes what attempt {@code attempt} wrote: its open upload and its uploaded object, both under its key. */
    @Override
    public void deletePart(String name, int attempt) {
        String staging = stagingKey(name, attempt);
        try {
            for (MultipartUpload upload : openUploads(staging)) {
                if (upload.key().equals(staging)) {
                    abort(staging, upload.uploadId());
                }
            }
            if (head(staging).isPresent()) {
                delete(staging);
                log.info("Removed uncommitted upload of export file {} (attempt {})", name, attempt);
            }
        } catch (IOException e) {
            log.warn("Could not remove the upload of {} (attempt {}): {}; clean-up tries again later", name,
                    attempt, e.getMessage());
        }
    }

    void delete(String key) throws IOException {
        call("DELETE", key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
    }

    /** Aborts an upload; one that completed or was aborted already is fine. */
    void abort(String key, String uploadId) throws IOException {
        try {
            call("ABORT upload", key, () -> s3.abortMultipartUpload(b -> b.bucket(bucket).key(key)
                    .uploadId(uploadId)));
            log.info("Aborted uncommitted upload of export file {}", key.substring(prefix.length()));
        } catch (IOException e) {
            if (!(e.getCause() instanceof NoSuchUploadException
                    || e.getCause() instanceof S3Exception s && s.statusCode() == 404)) {
                throw e;
            }
        }
    }

    /**
     * Removes the object under the final name, and an upload to it that a multipart copy left open (a process that
     * died while publishing a file over 5 GiB). The caller fences: no attempt that may still commit published it.
     */
    @Override
    public void deletePublished(String name) {
        String key = key(name);
        try {
            for (MultipartUpload upload : openUploads(key)) {
                if (upload.key().equals(key)) {
                    abort(key, upload.uploadId());
                }
            }
            if (head(key).isPresent()) {
                delete(key);
                log.info("Removed uncommitted export file {}", location(key));
            }
        } catch (IOException e) {
            log.warn("Could not remove {}: {}", location(key), e.getMessage());
        }
    }

    /** The object and everything every attempt left of a job that has finished. */
    @Override
    public void deleteAll(String name) {
        String key = key(name);
        try {
            Set<Integer> attempts = new TreeSet<>();
            for (S3Object object : objects(key + ".")) {
                ExportFileStore.parsePartName(object.key().substring(prefix.length()))
                        .filter(p -> p.name().equals(name)).ifPresent(p -> attempts.add(p.attempt()));
            }
            for (MultipartUpload upload : openUploads(key)) {
                ExportFileStore.parsePartName(upload.key().substring(prefix.length()))
                        .filter(p -> p.name().equals(name)).ifPresent(p -> attempts.add(p.attempt()));
            }
            attempts.forEach(attempt -> deletePart(name, attempt));
            deletePublished(name);
        } catch (IOException e) {
            log.warn("Could not remove {}: {}", location(key), e.getMessage());
        }
    }

    /** What attempts left under their own keys: uploaded objects and open uploads named {@code name.<n>.part}. */
    @Override
    public List<PartFile> partFiles() {
        try {
            Set<PartFile> parts = new LinkedHashSet<>();
            for (S3Object object : objects(prefix)) {
                partFile(object.key()).ifPresent(parts::add);
            }
            for (MultipartUpload upload : openUploads(prefix)) {
                partFile(upload.key()).ifPresent(parts::add);
            }
            return List.copyOf(parts);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Optional<PartFile> partFile(String key) {
        String name = key.substring(prefix.length());
        return name.contains("/") ? Optional.empty() : ExportFileStore.parsePartName(name);
    }

    private List<S3Object> objects(String keyPrefix) throws IOException {
        return call("LIST", keyPrefix, () -> s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(keyPrefix))
                .contents().stream().toList());
    }

    List<MultipartUpload> openUploads(String keyPrefix) throws IOException {
        return call("LIST uploads", keyPrefix, () -> s3.listMultipartUploadsPaginator(b -> b.bucket(bucket)
                .prefix(keyPrefix)).uploads().stream().toList());
    }

    @Override
    public Optional<Resource> published(String name) throws IOException {
        String key = key(name);
        return head(key).map(head -> new S3ObjectResource(this, key, name, head));
    }

    @Override
    public String location() {
        return location;
    }

    @Override
    public void checkHealth(Health.Builder builder) throws IOException {
        call("HEAD bucket", prefix, () -> s3.headBucket(b -> b.bucket(bucket)));
        builder.up().withDetail("sink", "s3").withDetail("location", location);
    }

    @Override
    public void close() {
        uploads.shutdownNow();
        s3.close();
    }
}
