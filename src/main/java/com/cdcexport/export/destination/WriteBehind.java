package com.cdcexport.export.destination;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.springframework.scheduling.concurrent.CustomizableThreadFactory;

/**
 * The stream into a file being exported, which has the kernel write the file to disk while the export goes on: each
 * time {@link #SYNC_EVERY_BYTES} more bytes are written, an fdatasync of what is there so far runs on a thread of
 * its own. The fsync that makes the file durable before it is published then finds little left to write, instead
 * of the whole file: on a file of 100 MB that is most of a tenth of a second the export no longer waits.
 *
 * <p>A background sync that fails is reported by {@link #awaitSynced()}, so by the file's own fsync: Linux reports
 * a write-back error to one fsync only, and a later one may succeed although the data is lost.
 */
final class WriteBehind extends OutputStream {

    static final long SYNC_EVERY_BYTES = 32L << 20;

    /** One thread for every file: a sync only starts write-back, and several at once would compete for the disk. */
    private static final ExecutorService SYNCS = Executors.newSingleThreadExecutor(daemon());

    private final FileChannel channel;
    private final long syncEvery;
    private long unsynced;
    private long syncs;
    private Future<?> inFlight;

    WriteBehind(FileChannel channel) {
        this(channel, SYNC_EVERY_BYTES);
    }

    WriteBehind(FileChannel channel, long syncEvery) {
        this.channel = channel;
        this.syncEvery = syncEvery;
    }

    private static CustomizableThreadFactory daemon() {
        CustomizableThreadFactory factory = new CustomizableThreadFactory("export-write-behind-");
        factory.setDaemon(true);
        return factory;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        unsynced += len;
        if (unsynced >= syncEvery && (inFlight == null || inFlight.isDone())) {
            awaitSynced();
            unsynced = 0;
            syncs++;
            inFlight = SYNCS.submit(() -> {
                channel.force(false);
                return null;
            });
        }
    }

    /** Waits for the background sync, if one runs, and throws what it failed with. */
    void awaitSynced() throws IOException {
        Future<?> sync = inFlight;
        inFlight = null;
        if (sync == null) {
            return;
        }
        try {
            sync.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while the export file was synced");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io
                    : new IOException("Syncing the export file failed: " + e.getCause(), e.getCause());
        }
    }

    /** Background syncs started so far. */
    long syncs() {
        return syncs;
    }

    /** Before the file is closed unpublished: no sync may still be running on it; its outcome no longer matters. */
    void settle() {
        try {
            awaitSynced();
        } catch (IOException ignored) {
            // the file is being given up
        }
    }
}
