package com.cdcexport.export.format;

import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The forms an export file can take. One format per export: every table's file of it has the same. Each format
 * decides how a column is rendered in the SELECT, the COPY that wraps that SELECT, and how COPY's bytes become
 * the file's (as they are, compressed, or re-encoded as parquet).
 */
public enum ExportFormat {
    CSV("csv", "text/csv;charset=UTF-8", Body.CSV, Compression.NONE),
    CSV_GZ("csv.gz", "application/gzip", Body.CSV, Compression.GZIP),
    CSV_ZST("csv.zst", "application/zstd", Body.CSV, Compression.ZSTD),
    JSONL("jsonl", "application/x-ndjson", Body.JSONL, Compression.NONE),
    JSONL_GZ("jsonl.gz", "application/gzip", Body.JSONL, Compression.GZIP),
    JSONL_ZST("jsonl.zst", "application/zstd", Body.JSONL, Compression.ZSTD),
    PARQUET("parquet", "application/vnd.apache.parquet", Body.PARQUET, Compression.NONE),
    /** Not a file: each table's rows applied to an Apache Iceberg table (the Iceberg destination writes them). */
    ICEBERG("iceberg", "application/vnd.apache.parquet", Body.TABLE, Compression.NONE);

    public static final ExportFormat DEFAULT = CSV;

    private final String slug;
    private final String contentType;
    private final Body body;
    private final Compression compression;

    ExportFormat(String slug, String contentType, Body body, Compression compression) {
        this.slug = slug;
        this.contentType = contentType;
        this.body = body;
        this.compression = compression;
    }

    /** The name in the API, the job row and the manifest; also the file name's extension. */
    public String slug() {
        return slug;
    }

    public String extension() {
        return slug;
    }

    /** Whether the export goes to tables rather than files: there is no file to download, and no manifest. */
    public boolean isTable() {
        return body == Body.TABLE;
    }

    /** The download's Content-Type. */
    public String contentType() {
        return contentType;
    }

    public static Optional<ExportFormat> fromSlug(String slug) {
        return Arrays.stream(values()).filter(f -> f.slug.equals(slug)).findFirst();
    }

    /** "csv, csv.gz, ...": for messages that list the valid names. */
    public static String names() {
        return Arrays.stream(values()).map(ExportFormat::slug).collect(Collectors.joining(", "));
    }

    /** The SQL expression of a column's value in the file, given the expression of its value in the table. */
    public String render(FileColumn column, String value) {
        return switch (body) {
            case CSV -> Rendering.csv(column, value);
            case JSONL -> Rendering.json(column, value);
            case PARQUET -> ParquetColumn.of(column).render(value);
            case TABLE -> ParquetColumn.ofTable(column).render(value);
        };
    }

    /**
     * The COPY that reads {@code select} (whose columns are {@code columns}, rendered) in this format; the CSV
     * header line only with {@code header} (a parallel export's later chunks have none).
     */
    public String copySql(String select, List<FileColumn> columns, boolean header) {
        return switch (body) {
            case CSV -> {
                // Quoted always, so a reader that sniffs quoting from the first rows (DuckDB) sees it; a delta's
                // operation never was (the seed's files show INSERT, not "INSERT").
                List<String> quoted = columns.stream().filter(c -> c != FileColumn.OPERATION)
                        .filter(c -> QUOTED_CATEGORIES.contains(c.category())).map(FileColumn::sql).toList();
                yield "COPY (" + select + ") TO STDOUT WITH (FORMAT csv" + (header ? ", HEADER" : "")
                        + (quoted.isEmpty() ? "" : ", FORCE_QUOTE (" + String.join(", ", quoted) + ")") + ")";
            }
            // PostgreSQL writes the JSON. Through csv with quote and delimiter characters that JSON text never
            // holds raw (it escapes every control character), each object goes out verbatim, one per line.
            case JSONL -> "COPY (SELECT row_to_json(r) FROM (" + select + ") r) TO STDOUT WITH (FORMAT csv, "
                    + "QUOTE E'\\x01', DELIMITER E'\\x02')";
            case PARQUET, TABLE -> "COPY (" + select + ") TO STDOUT WITH (FORMAT binary)";
        };
    }

    /**
     * Where one chunk of a parallel export goes so that the chunks joined in order are one COPY's output: binary
     * COPY (parquet) frames every chunk with its signature and end marker, which only the first and the last keep.
     */
    public OutputStream chunkOutput(OutputStream chunk, boolean first, boolean last) {
        return body == Body.PARQUET || body == Body.TABLE ? BinaryCopyFraming.chunk(chunk, first, last) : chunk;
    }

    /**
     * The stream COPY's bytes go into, writing the file into {@code target}. A table format's stream is COPY's own
     * (binary): its destination parses it into the table's files.
     */
    public EncodedOutput open(OutputStream target, List<FileColumn> columns) {
        return body == Body.PARQUET ? new ParquetEncoder(target, columns) : compression.wrap(target);
    }

    /** Text, arrays, json (user-defined types): quoted in CSV always. */
    private static final Set<String> QUOTED_CATEGORIES = Set.of("S", "A", "U");

    private enum Body { CSV, JSONL, PARQUET, TABLE }
}
