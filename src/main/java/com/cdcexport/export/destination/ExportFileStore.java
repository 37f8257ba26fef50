package com.cdcexport.export.destination;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.SettingsCheck;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;

/**
 * The one place that stores export files, in a local directory or an S3 bucket (EXPORT_SINK). Either way a file is
 * written by one attempt under a temporary name or upload of its own, and published under its final name in one
 * step that refuses to replace an existing file: readers never see half a file and no export overwrites another.
 */
@Component
public class ExportFileStore implements DisposableBean, SettingsCheck {

    static final String PART_SUFFIX = ".part";
    static final String MANIFEST_SUFFIX = ".manifest.json";
    private static final Pattern PART_NAME = Pattern.compile("(.+)\\.(\\d{1,9})\\.part");
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final ExportSink sink;

    public ExportFileStore(CdcProperties properties) {
        this.sink = properties.sink() == CdcProperties.Sink.S3
                ? new S3Sink(properties.s3()) : new LocalDirectory(properties);
    }

    /**
     * Nothing more: making the sink checked its settings (EXPORT_OUTPUT_DIR writable, EXPORT_FILE_MODE, the S3
     * bucket there and reachable). Being a {@link SettingsCheck} has it made before the database is touched.
     */
    @Override
    public void checkSettings() {
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
            if (allocated.all().noneMatch(name -> reserved.test(name) || exists(name))) {
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

    private boolean exists(String name) {
        try {
            return sink.exists(checked(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Opens a file for one attempt to write. Each attempt writes its own temporary file (or upload), so a runner
     * that lost its claim can never publish the content of the runner that took over.
     */
    public PendingFile create(String name, int attempt) throws IOException {
        return sink.create(checked(name), attempt);
    }

    /*
     * Deleting. Attempts of one job (a runner that lost its claim and the one that took the job over) share the
     * final name, so every deletion names what it removes: one attempt's temporary file, the published file only
     * for a caller that has fenced off later attempts (see JobFiles), or everything of a job that has finished.
     */

    /** Removes what attempt {@code attempt} wrote and did not publish: only that attempt ever writes it. */
    public void deletePart(String name, int attempt) {
        sink.deletePart(checked(name), attempt);
    }

    /** Removes the published file. The caller must know that no attempt which may still commit published it. */
    public void deletePublished(String name) {
        sink.deletePublished(checked(name));
    }

    /** Removes the file and every attempt's temporary file of a job that has finished: none of them counts. */
    public void deleteAll(String name) {
        sink.deleteAll(checked(name));
    }

    /** What attempts wrote and did not publish (yet): what clean-up looks at. */
    public List<PartFile> partFiles() {
        return sink.partFiles();
    }

    /** A published file, to download; empty when it is not there (removed by retention, or never published). */
    public Optional<Resource> published(String name) throws IOException {
        return sink.published(checked(name));
    }

    /** Where the files go, for messages: the directory's path or {@code s3://bucket/prefix}. */
    public String location() {
        return sink.location();
    }

    ExportSink sink() {
        return sink;
    }

    @Override
    public void destroy() {
        sink.close();
    }

    /** Names are single path segments in both sinks: never a way into another directory or key prefix. */
    private static String checked(String name) {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("Export file name is not a plain file name: " + name);
        }
        return name;
    }

    /** {@code name.<attempt>.part}: the local sink's temporary file, the key of the S3 sink's upload. */
    static String partName(String name, int attempt) {
        return name + "." + attempt + PART_SUFFIX;
    }

    /** The {@link PartFile} a temporary name stands for, if it is one. */
    static Optional<PartFile> parsePartName(String fileName) {
        Matcher m = PART_NAME.matcher(fileName);
        return m.matches() ? Optional.of(new PartFile(m.group(1), Integer.parseInt(m.group(2)))) : Optional.empty();
    }

    /** What one attempt of an export wrote and has not published: a temporary file, or an S3 upload. */
    public record PartFile(String name, int attempt) {
    }

    /**
     * A file being written. Closing its {@link #stream()} ends the content (it stays pending); {@link #publish()}
     * makes it visible; closing the file without publishing discards it.
     */
    public interface PendingFile extends AutoCloseable {

        OutputStream stream();

        /**
         * Makes the content durable, then gives it its final name, never replacing a file. May be called again
         * after it failed because the name was taken.
         *
         * @throws FileAlreadyExistsException when a file of that name exists (left by another attempt)
         */
        void publish() throws IOException;

        @Override
        void close() throws IOException;
    }
}
