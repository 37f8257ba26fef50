package com.cdcexport.export.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteBehindTest {

    @TempDir
    Path directory;

    @Test
    void fileHoldsEveryByteWrittenWhileSyncsRunBehindIt() throws IOException {
        byte[] expected = new byte[3 << 20];
        new Random(7).nextBytes(expected);
        Path file = directory.resolve("export.csv");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            WriteBehind stream = new WriteBehind(channel, 64 << 10);
            Random pieces = new Random(11);
            for (int at = 0; at < expected.length; ) {
                int length = Math.min(expected.length - at, 1 + pieces.nextInt(20_000));
                stream.write(expected, at, length);
                at += length;
            }
            stream.awaitSynced();
            assertThat(stream.syncs()).as("background syncs while writing").isPositive();
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
    }

    @Test
    void aFailedBackgroundSyncFailsTheFilesOwnSync() throws IOException {
        Path file = directory.resolve("export.csv");
        try (FileChannel real = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream stream = new WriteBehind(new FailingSync(real), 1024);
            stream.write(new byte[4096]);
            // Linux reports a write-back error to one fsync only: the one that ran in the background must not be lost.
            assertThatThrownBy(((WriteBehind) stream)::awaitSynced).isInstanceOf(IOException.class)
                    .hasMessageContaining("EIO");
        }
    }

    /** A channel on a disk that fails write-back: writes land in the page cache, every sync reports EIO. */
    private static final class FailingSync extends FileChannel {

        private final FileChannel real;

        FailingSync(FileChannel real) {
            this.real = real;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            throw new IOException("Input/output error (EIO)");
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return real.write(src);
        }

        @Override
        public int read(ByteBuffer dst) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long position() throws IOException {
            return real.position();
        }

        @Override
        public FileChannel position(long newPosition) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public FileChannel truncate(long size) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int write(ByteBuffer src, long position) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected void implCloseChannel() {
            // the real channel is closed by its owner
        }
    }
}
