package com.cdcexport.export.destination;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.health.contributor.Health;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.FileModes;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.destination.ExportFileStore.PartFile;
import com.cdcexport.export.destination.ExportFileStore.PendingFile;

/**
 * EXPORT_SINK=local: files in EXPORT_OUTPUT_DIR. A file is written under a temporary name, fsynced, then published
 * under its final name in one atomic step that refuses to replace an existing file; readers never see a
 * half-written {@code .csv} and no export ever overwrites another.
 */
final class LocalDirectory implements ExportSink {

    private static final Logger log = LoggerFactory.getLogger(LocalDirectory.class);
    private static final int BUFFER_BYTES = 1 << 20;

    private final Path directory;
    /** Null where the file system has no POSIX modes. */
    private final Set<PosixFilePermission> fileMode;

    LocalDirectory(CdcProperties properties) {
        this.directory = properties.outputDir().toAbsolutePath().normalize();
        this.fileMode = directory.getFileSystem().supportedFileAttributeViews().contains("posix")
                ? parseFileMode(properties.fileMode()) : null;
        checkWritable();
    }

    /**
     * EXPORT_FILE_MODE: three octal digits (a leading 0 allowed), readable and writable by the owner, never
     * executable: 0600 by default, 0640 or 0660 for a group that shares the volume.
     */
    static Set<PosixFilePermission> parseFileMode(String text) {
        if (!text.strip().matches("0?[0-7]{3}")) {
            throw badFileMode(text);
        }
        int mode = Integer.parseInt(text.strip(), 8);
        if ((mode & 0600) != 0600 || (mode & 0111) != 0) {
            throw badFileMode(text);
        }
        return FileModes.permissions(mode);
    }

    private static InvalidSettingException badFileMode(String text) {
        return new InvalidSettingException("EXPORT_FILE_MODE='" + text + "' must be an octal file mode that the "
                + "owner can read and write and nobody can execute, e.g. 0600 (the default) or 0640");
    }

    /** The directory lets in whoever may read the files: x (search) wherever the file mode has r. */
    static Set<PosixFilePermission> directoryMode(Set<PosixFilePermission> fileMode) {
        int mode = FileModes.mode(fileMode);
        return FileModes.permissions(mode | ((mode & 0444) >> 2));
    }

    @Override
    public String location() {
        return directory.toString();
    }

    @Override
    public void checkHealth(Health.Builder builder) throws IOException {
        Path probe = Files.createTempFile(directory, ".health", ".tmp");
        Files.delete(probe);
        builder.up().withDetail("sink", "local").withDetail("path", directory.toString())
                .withDetail("freeBytes", Files.getFileStore(directory).getUsableSpace());
    }

    /** Fails start-up with a clear message rather than failing every export later. */
    private void checkWritable() {
        try {
            Files.createDirectories(directory);
            restrictDirectory();
            Path probe = Files.createTempFile(directory, ".write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            throw new InvalidSettingException("EXPORT_OUTPUT_DIR=" + directory + " is not a writable directory ("
                    + InvalidSettingException.describe(e) + "): make it writable by this user or set "
                    + "EXPORT_OUTPUT_DIR to one that is", e);
        }
    }

    /**
     * The umask decides the mode of a directory we create, and an existing one may be open to everyone: set it.
     * A directory owned by someone else (a mounted volume) keeps its mode, with a warning.
     */
    private void restrictDirectory() {
        if (fileMode == null) {
            return;
        }
        Set<PosixFilePermission> wanted = directoryMode(fileMode);
        try {
            if (!Files.getPosixFilePermissions(directory).equals(wanted)) {
                Files.setPosixFilePermissions(directory, wanted);
            }
        } catch (IOException e) {
            log.warn("Cannot set the mode of EXPORT_OUTPUT_DIR={} to {} ({}); check who may read it",
                    directory, PosixFilePermissions.toString(wanted), e.toString());
        }
    }

    @Override
    public boolean exists(String name) {
        return Files.exists(resolve(name));
    }

    /**
     * Opens {@code name.<attempt>.part} for writing. Each attempt writes its own temporary file, so a runner that
     * lost its claim can never publish the file of the runner that took over.
     */
    @Override
    public PendingFile create(String name, int attempt) throws IOException {
        Path target = resolve(name);
        Path part = partPath(name, attempt);
        FileChannel channel;
        if (fileMode == null) {
            channel = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } else {
            // Created owner-only (the umask can only remove bits), then given the exact mode before any byte is
            // written; publishing links the same inode, so the final file has this mode too.
            channel = FileChannel.open(part, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(EnumSet.of(PosixFilePermission.OWNER_READ,
                            PosixFilePermission.OWNER_WRITE)));
            try {
                Files.setPosixFilePermissions(part, fileMode);
            } catch (IOException e) {
                channel.close();
                Files.deleteIfExists(part);
                throw e;
            }
        }
        return new LocalFile(target, part, channel);
    }

    @Override
    public void deletePart(String name, int attempt) {
        remove(partPath(name, attempt));
    }

    @Override
    public void deletePublished(String name) {
        remove(resolve(name));
    }

    @Override
    public void deleteAll(String name) {
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(directory, name + ".*" + ExportFileStore.PART_SUFFIX)) {
            parts.forEach(LocalDirectory::remove);
        } catch (IOException e) {
            log.warn("Could not list temporary files of {}: {}", name, e.toString());
        }
        remove(resolve(name));
    }

    /** The temporary files in the output directory. */
    @Override
    public List<PartFile> partFiles() {
        try (Stream<Path> files = Files.list(directory)) {
            return files.flatMap(p -> ExportFileStore.parsePartName(p.getFileName().toString()).stream()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Optional<Resource> published(String name) {
        Path path = resolve(name);
        return Files.isRegularFile(path) ? Optional.of(new FileSystemResource(path)) : Optional.empty();
    }

    private static void remove(Path path) {
        try {
            if (Files.deleteIfExists(path)) {
                log.info("Removed uncommitted export file {}", path.getFileName());
            }
        } catch (IOException e) {
            log.warn("Could not remove {}: {}", path, e.toString());
        }
    }

    private Path partPath(String name, int attempt) {
        return resolve(ExportFileStore.partName(name, attempt));
    }

    private Path resolve(String name) {
        Path path = directory.resolve(name).normalize();
        if (!directory.equals(path.getParent())) {
            throw new IllegalArgumentException("Export file name escapes the output directory: " + name);
        }
        return path;
    }

    /** A file being written. Closing its stream fsyncs it; closing the file without publishing deletes it. */
    private static final class LocalFile implements PendingFile {

        private final Path target;
        private final Path part;
        private final FileChannel channel;
        private final WriteBehind writeBehind;
        private final OutputStream stream;
        private boolean published;

        private LocalFile(Path target, Path part, FileChannel channel) {
            this.target = target;
            this.part = part;
            this.channel = channel;
            this.writeBehind = new WriteBehind(channel);
            this.stream = new BufferedOutputStream(writeBehind, BUFFER_BYTES) {
                @Override
                public void close() throws IOException {
                    seal();
                }
            };
        }

        @Override
        public OutputStream stream() {
            return stream;
        }

        /** Durable before anything names it: flushed and fsynced; the channel is closed. */
        private void seal() throws IOException {
            if (channel.isOpen()) {
                stream.flush();
                writeBehind.awaitSynced();
                channel.force(true);
                channel.close();
            }
        }

        /** Syncs the content, then links it under its final name (never replacing a file) and syncs the directory. */
        @Override
        public void publish() throws IOException {
            seal();
            try {
                // A hard link fails if the target exists, where rename would silently replace it.
                Files.createLink(target, part);
                Files.delete(part);
            } catch (FileAlreadyExistsException e) {
                throw nameTaken();
            } catch (UnsupportedOperationException | FileSystemException e) {
                // Some mounts have no hard links; names are unique per job, so check-then-rename is the fallback.
                if (Files.exists(target)) {
                    throw nameTaken();
                }
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            }
            published = true;
            try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        }

        private FileAlreadyExistsException nameTaken() {
            return new FileAlreadyExistsException(target.getFileName().toString(), null,
                    "Refusing to overwrite existing export file");
        }

        @Override
        public void close() throws IOException {
            if (channel.isOpen()) {
                writeBehind.settle();
                channel.close();
            }
            if (!published) {
                Files.deleteIfExists(part);
            }
        }
    }
}
