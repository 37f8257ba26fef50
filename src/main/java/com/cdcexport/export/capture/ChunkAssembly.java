package com.cdcexport.export.capture;

import java.io.BufferedOutputStream;
import java.io.IOException;
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
 * Joins the chunks of one table's export into its output in key order, whichever reader finishes first. The chunk
 * next in line when it starts is written straight into the output (so the file grows from the first rows, as a
 * serial export's does, and that chunk is never copied); the others go to temporary files of their own (0600, in
 * a directory of the export's, 0700) and are appended each as soon as every chunk before it is in. One thread at
 * a time writes to the output; the lock hands it over, which also makes each writer's bytes visible to the next.
 */
final class ChunkAssembly implements AutoCloseable {

    private static final int FILE_BUFFER_BYTES = 1 << 16;

    private final OutputStream output;
    private final Path directory;
    private final boolean posix;
    private final Map<Integer, Path> waiting = new HashMap<>();
    private int next;
    private boolean outputTaken;

    ChunkAssembly(OutputStream output, Path directory) {
        this.output = output;
        this.directory = directory;
        this.posix = directory.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    /** Where one chunk is written while it is read: see {@link #open}. */
    record Chunk(int index, Path file, OutputStream stream) {
    }

    /** Starts chunk {@code index}: into the output when all before it are in and no one else writes there. */
    Chunk open(int index) throws IOException {
        synchronized (this) {
            if (index == next && !outputTaken) {
                outputTaken = true;
                return new Chunk(index, null, output);
            }
        }
        Path file = directory.resolve("chunk-" + index + ".csv");
        if (posix) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(
                    EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
        } else {
            Files.createFile(file);
        }
        return new Chunk(index, file, new BufferedOutputStream(Files.newOutputStream(file,
                StandardOpenOption.WRITE), FILE_BUFFER_BYTES));
    }

    /** A chunk read to its end: appended now if it is next in line, else when the ones before it are in. */
    void finished(Chunk chunk) throws IOException {
        if (chunk.file() == null) {
            synchronized (this) {
                next = chunk.index() + 1;
                outputTaken = false;
            }
        } else {
            chunk.stream().close();
            synchronized (this) {
                waiting.put(chunk.index(), chunk.file());
            }
        }
        appendWaiting();
    }

    /** A chunk given up (its reader failed): its file goes with the directory at {@link #close()}. */
    static void abandon(Chunk chunk) {
        if (chunk.file() != null) {
            try {
                chunk.stream().close();
            } catch (IOException ignored) {
                // the export is failing already; the file is removed with the directory
            }
        }
    }

    private void appendWaiting() throws IOException {
        while (true) {
            Path file;
            synchronized (this) {
                if (outputTaken || !waiting.containsKey(next)) {
                    return;
                }
                file = waiting.remove(next);
                outputTaken = true;
            }
            Files.copy(file, output);
            Files.delete(file);
            synchronized (this) {
                next++;
                outputTaken = false;
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
