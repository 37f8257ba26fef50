package com.cdcexport.export.read;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;

import org.springframework.util.FileSystemUtils;

/**
 * Joins the chunks of one table's export into its output in key order, whichever reader finishes first.
 *
 * <p>A chunk that is next in line when it starts is written straight into the output. The others start in a
 * temporary file of their own (0600, in a directory of the export's, 0700); as soon as every chunk before one is in
 * the output, what its file holds so far is appended and the rest of that chunk goes straight into the output
 * too. With readers of similar speed a chunk is next in line early in its read, so most bytes are written once,
 * not written to a file and read back; a chunk that finished before its turn is appended whole.
 *
 * <p>One thread at a time writes to the output: the chunk that writes directly, or the thread appending a file.
 * Every decision about a chunk (switching it to the output, its end) is taken under that chunk's lock, the
 * hand-over of the output under the assembly's; the locks also make each writer's bytes visible to the next.
 */
final class ChunkAssembly implements AutoCloseable {

    private static final int FILE_BUFFER_BYTES = 1 << 16;

    private final OutputStream output;
    private final Path directory;
    private final boolean posix;
    /** Chunks started in a file and not yet completely in the output, by index. */
    private final Map<Integer, Chunk> waiting = new HashMap<>();
    /** The first chunk not completely in the output. */
    private int next;
    /** Whether a chunk writes into the output directly or a thread appends a chunk's file to it. */
    private boolean outputTaken;

    ChunkAssembly(OutputStream output, Path directory) {
        this.output = output;
        this.directory = directory;
        this.posix = directory.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    /** The stream one chunk is read into; see the class comment for where its bytes go. */
    static final class Chunk extends OutputStream {

        private final int index;
        private final Path file;
        private OutputStream target;
        private boolean direct;
        private boolean ended;
        private boolean abandoned;

        private Chunk(int index, Path file, OutputStream target) {
            this.index = index;
            this.file = file;
            this.target = target;
            this.direct = file == null;
        }

        /** The chunk's temporary file; null for a chunk written directly from its start. */
        Path file() {
            return file;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            target.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            target.write(b, off, len);
        }
    }

    /** Starts chunk {@code index}: into the output when all before it are in and no one else writes there. */
    Chunk open(int index) throws IOException {
        synchronized (this) {
            if (index == next && !outputTaken) {
                outputTaken = true;
                return new Chunk(index, null, output);
            }
        }
        Path file = directory.resolve("chunk-" + index + ".part");
        if (posix) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(
                    EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
        } else {
            Files.createFile(file);
        }
        Chunk chunk = new Chunk(index, file, new BufferedOutputStream(Files.newOutputStream(file,
                StandardOpenOption.WRITE), FILE_BUFFER_BYTES));
        synchronized (this) {
            waiting.put(index, chunk);
        }
        // The chunk before it may have ended in the meantime, finding nothing to hand the output to.
        advance();
        return chunk;
    }

    /** A chunk read to its end. */
    void finished(Chunk chunk) throws IOException {
        boolean wasDirect;
        synchronized (chunk) {
            chunk.ended = true;
            wasDirect = chunk.direct;
            if (!wasDirect) {
                chunk.target.close();
            }
        }
        if (wasDirect) {
            synchronized (this) {
                waiting.remove(chunk.index);
                next = chunk.index + 1;
                outputTaken = false;
            }
        }
        advance();
    }

    /** A chunk given up (its reader failed): it is never joined; its file goes with the directory. */
    static void abandon(Chunk chunk) {
        synchronized (chunk) {
            chunk.abandoned = true;
            if (!chunk.direct) {
                try {
                    chunk.target.close();
                } catch (IOException ignored) {
                    // the export is failing already; the file is removed with the directory
                }
            }
        }
    }

    /**
     * Hands the output to the chunk next in line, as long as there is one: a chunk that ended is appended whole and
     * the one after it considered; a chunk still being read has its file so far appended and writes directly from
     * then on (the output is its until it ends).
     */
    private void advance() throws IOException {
        while (true) {
            Chunk chunk;
            synchronized (this) {
                chunk = outputTaken ? null : waiting.get(next);
                if (chunk == null) {
                    return;
                }
                outputTaken = true;
            }
            synchronized (chunk) {
                if (chunk.abandoned) {
                    return;
                }
                if (!chunk.ended) {
                    chunk.target.flush();
                }
                append(chunk.file);
                if (!chunk.ended) {
                    chunk.target.close();
                    chunk.target = output;
                    chunk.direct = true;
                }
                Files.delete(chunk.file);
                if (chunk.direct) {
                    return;
                }
            }
            synchronized (this) {
                waiting.remove(chunk.index);
                next = chunk.index + 1;
                outputTaken = false;
            }
        }
    }

    /**
     * Appends a chunk's file to the output in blocks of the size COPY's rows are gathered into: Files.copy's 8 KiB
     * would cost the streams after it (the digest, the file's write) eight calls for every one of a direct chunk.
     */
    private void append(Path file) throws IOException {
        byte[] block = new byte[FILE_BUFFER_BYTES];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.readNBytes(block, 0, block.length)) > 0) {
                output.write(block, 0, n);
            }
        }
    }

    /** After every reader ended without failure: all {@code chunks} must be in the output, in order. */
    synchronized void complete(int chunks) {
        if (next != chunks || outputTaken || !waiting.isEmpty()) {
            throw new IllegalStateException("Chunks of the export were not all joined: " + next + " of " + chunks);
        }
    }

    /** Removes the directory with whatever chunk files a failure left in it. */
    @Override
    public void close() throws IOException {
        FileSystemUtils.deleteRecursively(directory);
    }
}
