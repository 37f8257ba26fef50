package com.cdcexport.export.destination;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.S3Exception;

import com.cdcexport.export.destination.ExportFileStore.PendingFile;

/**
 * One attempt's file on the S3 sink. The content streams into a multipart upload of the attempt's own key,
 * {@code name.<attempt>.part}: parts of S3_PART_SIZE, at most S3_PARTS_IN_FLIGHT buffers alive at once (the one
 * being filled included), so memory is bounded by their product whatever the file's size. The upload starts only
 * when the first part is full; a file smaller than that is one PUT of the final name at publish time. A large file
 * is published by completing its upload (an object under the attempt's key) and copying that object inside the
 * store to the final name; either way with If-None-Match: * (never replacing an object) after a HEAD that finds the
 * name free (for stores that ignore the condition). Nothing but the publishing request ever touches the final
 * name, so removing what an attempt left (aborting its upload, deleting its object) can never remove another
 * attempt's file, whatever the store keeps together with a key. Closing without publishing aborts the upload and
 * removes the attempt's object.
 */
final class S3Upload implements PendingFile {

    private static final Logger log = LoggerFactory.getLogger(S3Upload.class);
    private static final int FIRST_BUFFER = 64 * 1024;
    /** A sealed file that has not started an upload keeps its bytes in memory until publish up to this size. */
    private static final int KEEP_IN_MEMORY = 1 << 20;

    private final S3Sink sink;
    private final String name;
    private final int attempt;
    private final String key;
    /** Where this attempt's upload goes: a key no other attempt writes or removes. */
    private final String stagingKey;
    private final Semaphore buffers;
    private final List<Future<CompletedPart>> parts = new ArrayList<>();
    private final Stream stream = new Stream();

    private String uploadId;
    private byte[] buffer;
    private int filled;
    private long size;
    private boolean sealed;
    /** The upload completed: the content is the object at {@link #stagingKey}, still to be copied. */
    private boolean staged;
    private boolean published;

    S3Upload(S3Sink sink, String name, int attempt) {
        this.sink = sink;
        this.name = name;
        this.attempt = attempt;
        this.key = sink.key(name);
        this.stagingKey = sink.stagingKey(name, attempt);
        this.buffers = new Semaphore(sink.partsInFlight());
    }

    @Override
    public OutputStream stream() {
        return stream;
    }

    private final class Stream extends OutputStream {

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            if (sealed) {
                throw new IOException("Export file " + name + " is closed");
            }
            while (length > 0) {
                if (buffer == null) {
                    takeBuffer();
                }
                if (filled == buffer.length && buffer.length < sink.partSize()) {
                    buffer = Arrays.copyOf(buffer, Math.min(sink.partSize(), buffer.length * 2));
                }
                int n = Math.min(length, buffer.length - filled);
                System.arraycopy(bytes, offset, buffer, filled, n);
                filled += n;
                offset += n;
                length -= n;
                if (filled == sink.partSize()) {
                    sendPart();
                }
            }
        }

        /** Ends the content: the last part goes out now, and its buffer with it. */
        @Override
        public void close() throws IOException {
            seal();
        }
    }

    /** Blocks while every buffer is in flight: this is what bounds memory. */
    private void takeBuffer() throws IOException {
        try {
            buffers.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while uploading " + name);
        }
        buffer = new byte[uploadId == null ? Math.min(FIRST_BUFFER, sink.partSize()) : sink.partSize()];
        filled = 0;
        failIfAPartFailed();
    }

    private void sendPart() throws IOException {
        if (uploadId == null) {
            startUpload();
        }
        byte[] bytes = buffer;
        int length = filled;
        int number = parts.size() + 1;
        buffer = null;
        filled = 0;
        size += length;
        parts.add(sink.uploads().submit(() -> {
            try {
                String etag = sink.client().uploadPart(b -> b.bucket(sink.bucket()).key(stagingKey)
                                .uploadId(uploadId).partNumber(number).contentLength((long) length),
                        RequestBody.fromContentProvider(() -> new ByteArrayInputStream(bytes, 0, length), length,
                                "application/octet-stream")).eTag();
                return CompletedPart.builder().partNumber(number).eTag(etag).build();
            } finally {
                buffers.release();
            }
        }));
    }

    private void startUpload() throws IOException {
        uploadId = sink.call("CREATE upload", stagingKey, () -> sink.client().createMultipartUpload(b -> b
                .bucket(sink.bucket()).key(stagingKey).metadata(Map.of("cdc-attempt", String.valueOf(attempt))))
                .uploadId());
    }

    /** A failed part fails the file at the next write rather than at publish, so the export stops early. */
    private void failIfAPartFailed() throws IOException {
        for (Future<CompletedPart> part : parts) {
            if (part.isDone()) {
                result(part);
            }
        }
    }

    private CompletedPart result(Future<CompletedPart> part) throws IOException {
        try {
            return part.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while uploading " + name);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof software.amazon.awssdk.core.exception.SdkException sdk) {
                throw sink.failure("UPLOAD part", stagingKey, sdk);
            }
            throw new IOException("Upload of part of " + name + " failed: " + cause, cause);
        }
    }

    /**
     * After this the content is fixed: a file that started an upload (or is too large to keep) sends its last
     * part; a small one stays in memory for the PUT at publish.
     */
    private void seal() throws IOException {
        if (sealed) {
            return;
        }
        sealed = true;
        if (buffer != null && (uploadId != null || filled > KEEP_IN_MEMORY)) {
            sendPart();
        }
    }

    @Override
    public void publish() throws IOException {
        seal();
        if (published) {
            return;
        }
        if (uploadId != null && !staged) {
            List<CompletedPart> completed = new ArrayList<>();
            for (Future<CompletedPart> part : parts) {
                completed.add(result(part));
            }
            completed.sort(Comparator.comparing(CompletedPart::partNumber));
            sink.call("COMPLETE upload", stagingKey, () -> sink.client().completeMultipartUpload(b -> b
                    .bucket(sink.bucket()).key(stagingKey).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(completed))));
            staged = true;
        }
        // For stores that ignore If-None-Match: then two attempts publishing at the same moment is the one race
        // left, as with the local sink's check-then-rename fallback.
        if (sink.head(key).isPresent()) {
            throw nameTaken();
        }
        try {
            if (uploadId == null) {
                byte[] body = buffer == null ? new byte[0] : buffer;
                int length = buffer == null ? 0 : filled;
                sink.call("PUT", key, () -> sink.client().putObject(b -> b.bucket(sink.bucket()).key(key)
                                .ifNoneMatch("*").metadata(Map.of("cdc-attempt", String.valueOf(attempt))),
                        RequestBody.fromContentProvider(() -> new ByteArrayInputStream(body, 0, length), length,
                                "application/octet-stream")));
            } else {
                sink.copy(stagingKey, key, size);
            }
        } catch (IOException e) {
            if (e.getCause() instanceof S3Exception s && (s.statusCode() == 412 || s.statusCode() == 409
                    || s.statusCode() == 304)) {
                throw nameTaken();
            }
            throw e;
        }
        published = true;
        release();
        if (staged) {
            try {
                sink.delete(stagingKey);
            } catch (IOException e) {
                // A copy of a published file under the attempt's key: clean-up removes it once the attempt is over.
                log.warn("Could not remove the uploaded copy of {} (attempt {}): {}", name, attempt,
                        e.getMessage());
            }
        }
    }

    private FileAlreadyExistsException nameTaken() {
        return new FileAlreadyExistsException(name, null, "Refusing to overwrite existing export file");
    }

    @Override
    public void close() throws IOException {
        sealed = true;
        if (published) {
            return;
        }
        for (Future<CompletedPart> part : parts) {
            part.cancel(true);
        }
        release();
        if (uploadId != null) {
            try {
                if (!staged) {
                    sink.abort(stagingKey, uploadId);
                }
                sink.delete(stagingKey);
            } catch (IOException e) {
                // The upload or object under name.<attempt>.part stays: start-up or the periodic sweep removes it.
                log.warn("Could not abort the upload of {} (attempt {}): {}; clean-up tries again later", name,
                        attempt, e.getMessage());
            }
        }
    }

    private void release() {
        buffer = null;
        filled = 0;
    }
}
