package com.cdcexport.export.destination;

import java.io.IOException;
import java.io.InputStream;

import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

import org.springframework.core.io.AbstractResource;

/**
 * A published object, streamed through the service (so the download keeps the API's authentication and needs no
 * presigned URL). Spring serves a Range by skipping to its start: skipping before the first read turns into the
 * GET's own Range instead of reading and dropping the bytes.
 */
final class S3ObjectResource extends AbstractResource {

    private final S3Sink sink;
    private final String key;
    private final String name;
    private final HeadObjectResponse head;

    S3ObjectResource(S3Sink sink, String key, String name, HeadObjectResponse head) {
        this.sink = sink;
        this.key = key;
        this.name = name;
        this.head = head;
    }

    @Override
    public String getDescription() {
        return "s3://" + sink.bucket() + "/" + key;
    }

    @Override
    public String getFilename() {
        return name;
    }

    @Override
    public boolean exists() {
        return true;
    }

    @Override
    public long contentLength() {
        return head.contentLength();
    }

    @Override
    public long lastModified() {
        return head.lastModified().toEpochMilli();
    }

    @Override
    public InputStream getInputStream() {
        return new RangedStream();
    }

    /** Opens the GET at its first read, from where skips before it left off; the ETag pins the version. */
    private final class RangedStream extends InputStream {

        private long start;
        private InputStream body;

        @Override
        public long skip(long n) throws IOException {
            if (body == null) {
                long skipped = Math.max(0, Math.min(n, contentLength() - start));
                start += skipped;
                return skipped;
            }
            return body.skip(n);
        }

        @Override
        public int read() throws IOException {
            return open().read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return open().read(b, off, len);
        }

        private InputStream open() throws IOException {
            if (body == null) {
                if (start >= contentLength()) {
                    body = InputStream.nullInputStream();
                } else {
                    body = sink.call("GET", key, () -> sink.client().getObject(b -> b.bucket(sink.bucket()).key(key)
                            .ifMatch(head.eTag()).range(start == 0 ? null : "bytes=" + start + "-")));
                }
            }
            return body;
        }

        @Override
        public void close() throws IOException {
            if (body != null) {
                body.close();
            }
        }
    }
}
