package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.NotFoundException;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.io.PositionOutputStream;
import org.apache.iceberg.io.SeekableInputStream;
import org.apache.iceberg.io.SupportsPrefixOperations;

/**
 * Iceberg's files in a local directory, without Hadoop (Iceberg's only local FileIO is Hadoop's). Locations are
 * {@code file:} URIs, which every engine reads. The files hold consumers' data, so they are the service user's
 * alone (0600 in 0700 directories, as export files are). Public, with the no-argument constructor Iceberg's
 * {@code io-impl} asks for, so an engine on the same machine can read the tables through it. A file is synced before its stream reports it closed, and
 * its directory with it: Iceberg references a file (a data file from a manifest, a metadata file from the catalog)
 * only after it is closed, so nothing a commit points to can be lost in a crash.
 */
public final class LocalFileIO implements SupportsPrefixOperations {

    private static final Set<PosixFilePermission> PRIVATE_DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> PRIVATE_FILE = PosixFilePermissions.fromString("rw-------");

    public LocalFileIO() {
        // no settings: paths are the locations themselves
    }

    /** The {@code file:} URI of a local directory or file. */
    static String location(Path path) {
        return path.toAbsolutePath().normalize().toUri().toString();
    }

    static Path path(String location) {
        return location.startsWith("file:") ? Path.of(URI.create(location)) : Path.of(location);
    }

    @Override
    public InputFile newInputFile(String location) {
        return new LocalInputFile(location);
    }

    @Override
    public OutputFile newOutputFile(String location) {
        return new LocalOutputFile(location);
    }

    @Override
    public void deleteFile(String location) {
        try {
            Files.deleteIfExists(path(location));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every file under {@code prefix} (a directory's location), with its last modification as its creation. */
    @Override
    public Iterable<FileInfo> listPrefix(String prefix) {
        Path root = path(prefix);
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(root)) {
            List<FileInfo> found = new ArrayList<>();
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                try {
                    found.add(new FileInfo(location(file), Files.size(file),
                            Files.getLastModifiedTime(file).toMillis()));
                } catch (NoSuchFileException gone) {
                    // removed meanwhile
                }
            }
            return found;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void deletePrefix(String prefix) {
        for (FileInfo file : listPrefix(prefix)) {
            deleteFile(file.location());
        }
    }

    private record LocalInputFile(String location) implements InputFile {

        @Override
        public long getLength() {
            try {
                return Files.size(path(location));
            } catch (NoSuchFileException e) {
                throw new NotFoundException(e, "File does not exist: %s", location);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public SeekableInputStream newStream() {
            try {
                return new ChannelInputStream(FileChannel.open(path(location), StandardOpenOption.READ));
            } catch (NoSuchFileException e) {
                throw new NotFoundException(e, "File does not exist: %s", location);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public boolean exists() {
            return Files.exists(path(location));
        }
    }

    private record LocalOutputFile(String location) implements OutputFile {

        @Override
        public PositionOutputStream create() {
            return open(StandardOpenOption.CREATE_NEW);
        }

        @Override
        public PositionOutputStream createOrOverwrite() {
            return open(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
        }

        private PositionOutputStream open(StandardOpenOption... how) {
            Path file = path(location);
            try {
                createPrivateDirectories(file.getParent());
                EnumSet<StandardOpenOption> options = EnumSet.of(StandardOpenOption.WRITE);
                options.addAll(List.of(how));
                FileChannel channel = FileChannel.open(file, options,
                        PosixFilePermissions.asFileAttribute(PRIVATE_FILE));
                return new ChannelOutputStream(file, channel);
            } catch (FileAlreadyExistsException e) {
                throw new AlreadyExistsException(e, "File already exists: %s", location);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public InputFile toInputFile() {
            return new LocalInputFile(location);
        }
    }

    private static void createPrivateDirectories(Path directory) throws IOException {
        if (directory == null || Files.isDirectory(directory)) {
            return;
        }
        createPrivateDirectories(directory.getParent());
        try {
            Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(PRIVATE_DIRECTORY));
        } catch (FileAlreadyExistsException raced) {
            // another writer made it meanwhile
        }
    }

    private static final class ChannelOutputStream extends PositionOutputStream {
        private final Path file;
        private final FileChannel channel;
        private long position;
        private boolean closed;

        ChannelOutputStream(Path file, FileChannel channel) {
            this.file = file;
            this.channel = channel;
        }

        @Override
        public long getPos() {
            return position;
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
            position += len;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try (channel) {
                channel.force(true);
            }
            try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                directory.force(true);
            }
        }
    }

    private static final class ChannelInputStream extends SeekableInputStream {
        private final FileChannel channel;

        ChannelInputStream(FileChannel channel) {
            this.channel = channel;
        }

        @Override
        public long getPos() throws IOException {
            return channel.position();
        }

        @Override
        public void seek(long newPos) throws IOException {
            channel.position(newPos);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
