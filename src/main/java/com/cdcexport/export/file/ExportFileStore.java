package com.cdcexport.export.file;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
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
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.ExportType;
import com.cdcexport.export.capture.TableName;
import com.cdcexport.export.format.ExportFormat;

/**
 * The one place that writes export files. A file is written under a temporary name, fsynced, then published
 * under its final name in one atomic step that refuses to replace an existing file; readers never see a
 * half-written {@code .csv} and no export ever overwrites another.
 */
@Component
public class ExportFileStore {

    static final String PART_SUFFIX = ".part";
    static final String MANIFEST_SUFFIX = ".manifest.json";
    private static final Pattern PART_NAME = Pattern.compile("(.+)\\.(\\d{1,9})\\.part");
    private static final Logger log = LoggerFactory.getLogger(ExportFileStore.class);
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final int BUFFER_BYTES = 1 << 20;

    private final Path directory;
    /** Null where the file system has no POSIX modes. */
    private final Set<PosixFilePermission> fileMode;

    public ExportFileStore(CdcProperties properties) {
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
        return permissions(mode);
    }

    private static InvalidSettingException badFileMode(String text) {
        return new InvalidSettingException("EXPORT_FILE_MODE='" + text + "' must be an octal file mode that the "
                + "owner can read and write and nobody can execute, e.g. 0600 (the default) or 0640");
    }

    /** The directory lets in whoever may read the files: x (search) wherever the file mode has r. */
    static Set<PosixFilePermission> directoryMode(Set<PosixFilePermission> fileMode) {
        int mode = mode(fileMode);
        return permissions(mode | ((mode & 0444) >> 2));
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] byBit = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE
        for (int i = 0; i < byBit.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                permissions.add(byBit[i]);
            }
        }
        return permissions;
    }

    private static int mode(Set<PosixFilePermission> permissions) {
        return permissions.stream().mapToInt(p -> 0400 >> p.ordinal()).reduce(0, (a, b) -> a | b);
    }

    public Path directory() {
        return directory;
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

    /**
     * One name per table, sharing one stamp, ending with the format's extension:
     * {@code {type}_{consumer}_{yyyyMMdd'T'HHmmss}Z.csv} for the seed's users table (as the seed names files),
     * {@code {type}_{consumer}_{schema.table}_{stamp}Z.csv} for others; and the export's manifest,
     * {@code {type}_{consumer}_{stamp}Z.manifest.json}. When any of them is taken (a second export within one
     * second), all get {@code _2}, {@code _3}, ... before the extension.
     */
    public ExportNames allocateNames(ExportType type, ExportFormat format, ConsumerId consumer, List<TableName> tables,
                                     Instant at, Predicate<String> reserved) {
        for (int n = 1; ; n++) {
            String base = type.slug() + "_" + consumer.value() + "_";
            String stamp = STAMP.format(at) + "Z" + (n == 1 ? "" : "_" + n);
            List<String> names = tables.stream().map(t -> base + (t.isUsers() ? "" : t.qualified() + "_") + stamp
                    + "." + format.extension()).toList();
            ExportNames allocated = new ExportNames(names, base + stamp + MANIFEST_SUFFIX);
            if (allocated.all().noneMatch(name -> reserved.test(name) || Files.exists(resolve(name)))) {
                return allocated;
            }
        }
    }

    /** The names of one export's files: one per table, in the order of the tables, and its manifest. */
    public record ExportNames(List<String> files, String manifest) {
        public ExportNames {
            files = List.copyOf(files);
        }

        Stream<String> all() {
            return Stream.concat(files.stream(), Stream.of(manifest));
        }
    }

    /**
     * Opens {@code name.<attempt>.part} for writing. Each attempt writes its own temporary file, so a runner that
     * lost its claim can never publish the file of the runner that took over.
     */
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
        return new PendingFile(target, part, channel);
    }

    /*
     * Deleting. Attempts of one job (a runner that lost its claim and the one that took the job over) share the
     * final name, so every deletion names what it removes: one attempt's temporary file, the published file only
     * for a caller that has fenced off later attempts (see JobFiles), or everything of a job that has finished.
     */

    /** Removes {@code name.<attempt>.part}: only that attempt ever writes it. */
    public void deletePart(String name, int attempt) {
        remove(partPath(name, attempt));
    }

    /** Removes the published file. The caller must know that no attempt which may still commit published it. */
    public void deletePublished(String name) {
        remove(resolve(name));
    }

    /** Removes the file and every attempt's temporary file of a job that has finished: none of them counts. */
    public void deleteAll(String name) {
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(directory, name + ".*" + PART_SUFFIX)) {
            parts.forEach(ExportFileStore::remove);
        } catch (IOException e) {
            log.warn("Could not list temporary files of {}: {}", name, e.toString());
        }
        remove(resolve(name));
    }

    /** The temporary files in the output directory: what start-up cleanup looks at. */
    public List<PartFile> partFiles() {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(p -> PART_NAME.matcher(p.getFileName().toString()))
                    .filter(Matcher::matches)
                    .map(m -> new PartFile(m.group(1), Integer.parseInt(m.group(2))))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code name.<attempt>.part}: the file one attempt of an export writes before publishing it. */
    public record PartFile(String name, int attempt) {
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
        return resolve(name + "." + attempt + PART_SUFFIX);
    }

    public Path resolve(String name) {
        Path path = directory.resolve(name).normalize();
        if (!directory.equals(path.getParent())) {
            throw new IllegalArgumentException("Export file name escapes the output directory: " + name);
        }
        return path;
    }

    /** A file being written. Closing it without {@link #publish()} deletes it. */
    public static final class PendingFile implements AutoCloseable {

        private final Path target;
        private final Path part;
        private final FileChannel channel;
        private final OutputStream stream;
        private boolean published;

        private PendingFile(Path target, Path part, FileChannel channel) {
            this.target = target;
            this.part = part;
            this.channel = channel;
            this.stream = new BufferedOutputStream(Channels.newOutputStream(channel), BUFFER_BYTES);
        }

        public OutputStream stream() {
            return stream;
        }

        /**
         * Makes the content durable, then gives it its final name (never replacing a file) and syncs the directory.
         * May be called again after it failed because the name was taken.
         *
         * @throws FileAlreadyExistsException when a file of that name exists (left by another attempt)
         */
        public void publish() throws IOException {
            if (channel.isOpen()) {
                stream.flush();
                channel.force(true);
                channel.close();
            }
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
                channel.close();
            }
            if (!published) {
                Files.deleteIfExists(part);
            }
        }
    }
}
