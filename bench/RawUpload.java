import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * The bench's yardstick for the S3 sink (bench/run.sh --sinks): the same bytes as an export's file, uploaded by a
 * plain multipart upload and nothing else, with the client the sink builds (the same HTTP client, checksums only
 * where required), the same part size and the same number of parts in flight, read from the page cache.
 *
 *   java [-Dserver.pid=PID] -cp 'lib/*' bench/RawUpload.java ENDPOINT BUCKET KEY FILE PART-BYTES IN-FLIGHT [copy]
 *
 * Prints the seconds from CreateMultipartUpload to CompleteMultipartUpload's answer, the CPU-seconds this process
 * and the server's process (0 without its pid) spent meanwhile; with "copy", then also the seconds one CopyObject of
 * the uploaded object to KEY.copy takes on that server (what a publish by copy adds). Both objects are deleted
 * afterwards.
 */
public final class RawUpload {

    public static void main(String[] args) throws Exception {
        String bucket = args[1];
        String key = args[2];
        Path file = Path.of(args[3]);
        int partSize = Integer.parseInt(args[4]);
        int inFlight = Integer.parseInt(args[5]);
        boolean copy = args.length > 6 && args[6].equals("copy");
        try (S3Client s3 = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder().connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofMinutes(2)))
                .endpointOverride(URI.create(args[0])).forcePathStyle(true).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build()) {
            ExecutorService pool = Executors.newCachedThreadPool();
            // a warm-up upload of the first parts, not timed: the service's JVM that this is compared with is warm
            upload(s3, pool, bucket, key, file, partSize, inFlight, 4L * partSize);
            long own0 = ownCpu();
            long server0 = serverCpu();
            long t0 = System.nanoTime();
            upload(s3, pool, bucket, key, file, partSize, inFlight, Long.MAX_VALUE);
            double upload = (System.nanoTime() - t0) / 1e9;
            String line = String.format(Locale.ROOT, "%.3f %.3f %.3f", upload, (ownCpu() - own0) / 1e9,
                    (serverCpu() - server0) / 100.0);
            if (copy) {
                long t1 = System.nanoTime();
                s3.copyObject(b -> b.sourceBucket(bucket).sourceKey(key).destinationBucket(bucket)
                        .destinationKey(key + ".copy"));
                line += String.format(Locale.ROOT, " %.3f", (System.nanoTime() - t1) / 1e9);
                s3.deleteObject(b -> b.bucket(bucket).key(key + ".copy"));
            }
            s3.deleteObject(b -> b.bucket(bucket).key(key));
            pool.shutdown();
            System.out.println(line);
        }
    }

    /** CPU time the server's process (its pid in -Dserver.pid) spent so far, user and system, 1/100 s. */
    static long serverCpu() throws IOException {
        String pid = System.getProperty("server.pid");
        if (pid == null) {
            return 0;
        }
        String[] f = Files.readString(Path.of("/proc", pid, "stat")).split("\\) ", 2)[1].split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** This process's CPU time so far, ns. */
    static long ownCpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Uploads the first {@code limit} bytes of the file to the key: create, parts in flight, complete. */
    private static void upload(S3Client s3, ExecutorService pool, String bucket, String key, Path file, int partSize,
            int inFlight, long limit) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            Semaphore buffers = new Semaphore(inFlight);
            String uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
            List<Future<CompletedPart>> parts = new ArrayList<>();
            for (long sent = 0; sent < limit; ) {
                buffers.acquire();
                byte[] part = in.readNBytes(partSize);
                if (part.length == 0) {
                    buffers.release();
                    break;
                }
                sent += part.length;
                int number = parts.size() + 1;
                parts.add(pool.submit(() -> {
                    try {
                        String etag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                                        .partNumber(number).contentLength((long) part.length),
                                RequestBody.fromContentProvider(() -> new ByteArrayInputStream(part), part.length,
                                        "application/octet-stream")).eTag();
                        return CompletedPart.builder().partNumber(number).eTag(etag).build();
                    } finally {
                        buffers.release();
                    }
                }));
            }
            List<CompletedPart> completed = new ArrayList<>();
            for (Future<CompletedPart> part : parts) {
                completed.add(part.get());
            }
            s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(completed)));
        }
    }
}
