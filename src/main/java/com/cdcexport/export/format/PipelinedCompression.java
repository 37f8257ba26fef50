package com.cdcexport.export.format;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Compression on a thread of its own: PostgreSQL renders rows on one core while this compresses on another. The
 * export's thread fills fixed buffers and hands them over through a small bounded queue, so memory stays at a few
 * buffers whatever the file's size, and a slow compressor slows COPY down rather than piling bytes up.
 */
final class PipelinedCompression extends EncodedOutput {

    private static final int BUFFER_BYTES = 256 * 1024;
    private static final int IN_FLIGHT = 4;
    private static final Chunk END = new Chunk(new byte[0], 0);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private record Chunk(byte[] data, int length) {
    }

    private final BlockingQueue<Chunk> full = new ArrayBlockingQueue<>(IN_FLIGHT);
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(IN_FLIGHT + 2);
    private final Thread worker;
    private volatile Throwable failure;
    private byte[] current = new byte[BUFFER_BYTES];
    private int used;
    private boolean finished;

    PipelinedCompression(OutputStream target, Compression.Compressor compressor) {
        worker = new Thread(() -> compress(target, compressor), "export-compress-" + THREADS.incrementAndGet());
        worker.setDaemon(true);
        worker.start();
    }

    private void compress(OutputStream target, Compression.Compressor compressor) {
        try (OutputStream out = compressor.open(EncodedOutput.keepOpen(target))) {
            for (Chunk chunk = full.take(); chunk != END; chunk = full.take()) {
                out.write(chunk.data, 0, chunk.length);
                free.offer(chunk.data);
            }
        } catch (InterruptedException | IOException | RuntimeException | Error e) {
            failure = e;
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = Math.min(len, current.length - used);
            System.arraycopy(b, off, current, used, n);
            used += n;
            off += n;
            len -= n;
            if (used == current.length) {
                handOver(new Chunk(current, used));
                byte[] recycled = free.poll();
                current = recycled != null ? recycled : new byte[BUFFER_BYTES];
                used = 0;
            }
        }
    }

    private void handOver(Chunk chunk) throws IOException {
        try {
            while (!full.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                checkWorker();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while compressing");
        }
        checkWorker();
    }

    private void checkWorker() throws IOException {
        Throwable failed = failure;
        if (failed != null) {
            throw failed instanceof IOException io ? io : new IOException("Compression failed: " + failed, failed);
        }
        if (!worker.isAlive() && !finished) {
            throw new IOException("The compressing thread stopped");
        }
    }

    @Override
    public void finish() throws IOException {
        if (used > 0) {
            handOver(new Chunk(current, used));
            used = 0;
        }
        finished = true;
        handOver(END);
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while finishing compression");
        }
        checkWorker();
    }

    /** Whether the compressing thread still runs. */
    boolean isCompressing() {
        return worker.isAlive();
    }

    @Override
    public void close() {
        if (worker.isAlive()) {
            worker.interrupt();
            try {
                worker.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
