package com.cdcexport.export.format;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import org.springframework.scheduling.concurrent.CustomizableThreadFactory;

/**
 * gzip on every core: the content is cut into chunks of {@link #CHUNK} bytes, each compressed on a shared pool of
 * one thread per core into a gzip member of its own (header, deflate data, CRC-32 and length), and the members are
 * written in order. A concatenation of gzip members is one valid gzip file (RFC 1952, 2.2): gunzip, zcat, Java's
 * GZIPInputStream, Python's gzip and DuckDB read it as the whole content. At gzip level 4, which the size aim needs
 * (docs/benchmarks.md, "S3 and compression"), one core deflates slower than PostgreSQL renders CSV; members let a
 * second core help whenever it has time, where one deflate stream can only ever use one. Each member starts with
 * an empty dictionary: at 1 MiB chunks that costs about 0.1% of the size.
 *
 * <p>The export's thread fills a chunk, hands it to the pool and writes the members that are done, in order, into
 * the target; at most {@link #IN_FLIGHT} chunks are in the pool per file, so memory stays a few MiB whatever the
 * file's size, and a pool that falls behind slows COPY down instead of piling bytes up. The pool is shared by all
 * exports: together they never compress on more threads than there are cores.
 */
final class ParallelGzip extends EncodedOutput {

    static final int CHUNK = 1 << 20;
    private static final int WORKERS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final int IN_FLIGHT = WORKERS + 2;
    private static final ExecutorService POOL = Executors.newFixedThreadPool(WORKERS, daemon());
    /** Deflate's output for one chunk, per pool thread: incompressible data grows by a few bytes per 16 KiB. */
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[CHUNK + CHUNK / 8]);
    /** Member header: magic, deflate, no flags, no modification time, no extra flags, OS unknown (255). */
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};

    private final OutputStream target;
    private final int level;
    private final ArrayDeque<Future<byte[]>> pending = new ArrayDeque<>();
    /** Chunks the pool is done with, for the next ones: no new 1 MiB array for every chunk. */
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(IN_FLIGHT + 1);
    private byte[] current;
    private int used;
    private long members;

    ParallelGzip(OutputStream target, int level) {
        this.target = target;
        this.level = level;
    }

    private static CustomizableThreadFactory daemon() {
        CustomizableThreadFactory threads = new CustomizableThreadFactory("export-gzip-");
        threads.setDaemon(true);
        return threads;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (current == null) {
                byte[] recycled = free.poll();
                current = recycled != null ? recycled : new byte[CHUNK];
                used = 0;
            }
            int n = Math.min(len, CHUNK - used);
            System.arraycopy(b, off, current, used, n);
            used += n;
            off += n;
            len -= n;
            if (used == CHUNK) {
                submit();
            }
        }
    }

    /** Hands the chunk being filled to the pool, after writing out members as the limit on chunks in flight says. */
    private void submit() throws IOException {
        while (pending.size() >= IN_FLIGHT) {
            writeMember(pending.removeFirst());
        }
        byte[] chunk = current;
        int length = used;
        current = null;
        used = 0;
        members++;
        pending.addLast(POOL.submit(() -> {
            try {
                return member(chunk, length, level);
            } finally {
                if (chunk.length == CHUNK) {
                    free.offer(chunk);
                }
            }
        }));
        while (!pending.isEmpty() && pending.peekFirst().isDone()) {
            writeMember(pending.removeFirst());
        }
    }

    private void writeMember(Future<byte[]> member) throws IOException {
        try {
            target.write(member.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while compressing");
        } catch (ExecutionException e) {
            throw new IOException("Compression failed: " + e.getCause(), e.getCause());
        } catch (CancellationException e) {
            throw new IOException("Compression was cancelled", e);
        }
    }

    /** One complete gzip member holding {@code data[0, length)}. */
    static byte[] member(byte[] data, int length, int level) {
        Deflater deflater = new Deflater(level, true);
        try {
            deflater.setInput(data, 0, length);
            deflater.finish();
            byte[] out = SCRATCH.get();
            System.arraycopy(HEADER, 0, out, 0, HEADER.length);
            int size = HEADER.length;
            while (!deflater.finished()) {
                if (size == out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                    SCRATCH.set(out);
                }
                size += deflater.deflate(out, size, out.length - size);
            }
            CRC32 crc = new CRC32();
            crc.update(data, 0, length);
            byte[] member = Arrays.copyOf(out, size + 8);
            littleEndian(member, size, crc.getValue());
            littleEndian(member, size + 4, length);
            return member;
        } finally {
            deflater.end();
        }
    }

    private static void littleEndian(byte[] to, int at, long value) {
        for (int i = 0; i < 4; i++) {
            to[at + i] = (byte) (value >>> (8 * i));
        }
    }

    /** Writes the last chunk and every member still in the pool; an empty file is one empty member, valid gzip. */
    @Override
    public void finish() throws IOException {
        if ((current != null && used > 0) || members == 0) {
            if (current == null) {
                current = new byte[0];
            }
            submit();
        }
        while (!pending.isEmpty()) {
            writeMember(pending.removeFirst());
        }
        target.flush();
    }

    /** Abandons what is still being compressed: the file is discarded, its chunks need not be written. */
    @Override
    public void close() {
        for (Future<byte[]> member : pending) {
            member.cancel(false);
        }
        pending.clear();
        current = null;
    }
}
