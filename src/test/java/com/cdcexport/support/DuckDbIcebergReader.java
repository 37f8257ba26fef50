package com.cdcexport.support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.sql.Blob;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;

import org.springframework.jdbc.core.JdbcTemplate;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * A second reader of the service's Iceberg tables that shares no code with Iceberg's: the table metadata JSON is
 * read with Jackson, the manifest list and manifests (Avro) with Avro's generic reader, and the data and delete
 * files (parquet, written by the service's own encoder) by DuckDB's C++ parquet reader, which also applies the
 * deletes, in SQL, by the rules of the Iceberg spec (format v2):
 * <ul>
 * <li>a column is found in a file by its parquet field id, the Iceberg field's id, and read as the current
 * schema's type (read_parquet's {@code schema} option): a renamed column keeps its values, a column dropped and
 * added again under its name starts empty, a file older than a column reads NULL for it;</li>
 * <li>a manifest entry that is DELETED (status 2) is not part of the snapshot; one whose data sequence number is
 * null inherits the manifest list's {@code sequence_number} for the manifest (only an ADDED entry may omit it);</li>
 * <li>an equality delete removes the rows, with the same values of its {@code equality_ids} columns (null equal
 * to null), of the data files whose data sequence number is strictly lower than its own;</li>
 * <li>a position delete {@code (file_path, pos)} removes row {@code pos} of that file when the data file's data
 * sequence number is lower than or equal to its own.</li>
 * </ul>
 * Only unpartitioned tables of parquet files in a local warehouse, which is what the service writes; anything
 * else (deletion vectors, another format, a partition spec) fails the read rather than being read wrongly.
 */
public final class DuckDbIcebergReader {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int DATA = 0;
    private static final int POSITION_DELETES = 1;
    private static final int EQUALITY_DELETES = 2;
    private static final int DELETED = 2;
    private static final int ADDED = 1;

    private DuckDbIcebergReader() {
    }

    /**
     * One live file of the snapshot, with its data sequence number (the one deletes are ordered by) and its file
     * sequence number (the snapshot that added the file), each inherited where the manifest omits it.
     */
    public record LiveFile(int content, String location, long sequenceNumber, long fileSequenceNumber,
                           List<Integer> equalityIds) {
    }

    /**
     * The table's current snapshot as DuckDB reads it: the current schema's columns in order; the type DuckDB's
     * parquet reader gives each column of the data files by itself (by name, before the cast to the schema's
     * type); the rows (column → value as DuckDB's JDBC driver returns it, in the schema's types; BLOBs as byte[],
     * TIMESTAMP as LocalDateTime); the key columns; and the files it read.
     */
    public record Contents(List<String> columns, Map<String, String> duckDbTypes, List<String> key,
                           List<Map<String, Object>> rows, List<LiveFile> files) {

        public long files(int content) {
            return files.stream().filter(f -> f.content() == content).count();
        }

        /** The rows by their key values (joined by "/"), each key read once or this fails. */
        public Map<String, Map<String, Object>> byKey() {
            Map<String, Map<String, Object>> byKey = new TreeMap<>();
            for (Map<String, Object> row : rows) {
                String k = key.stream().map(c -> String.valueOf(row.get(c))).collect(Collectors.joining("/"));
                if (byKey.put(k, row) != null) {
                    throw new IllegalStateException("DuckDB read key " + k + " twice");
                }
            }
            return byKey;
        }
    }

    /** The metadata location the service's catalog row holds for {@code namespace.name} now. */
    public static String metadataLocation(JdbcTemplate jdbc, String namespace, String name) {
        return jdbc.queryForObject("SELECT metadata_location FROM cdc.iceberg_tables WHERE catalog_name = 'cdc' "
                + "AND table_namespace = ? AND table_name = ?", String.class, namespace, name);
    }

    /** The current snapshot of the table whose metadata file is {@code metadataLocation}. */
    public static Contents read(String metadataLocation) {
        try {
            JsonNode metadata = JSON.readTree(localFile(metadataLocation));
            if (metadata.path("format-version").asInt() != 2) {
                throw new IllegalStateException("only format v2: " + metadataLocation);
            }
            JsonNode schema = currentSchema(metadata);
            Map<Integer, String> names = new LinkedHashMap<>();
            Map<Integer, String> types = new LinkedHashMap<>();
            for (JsonNode field : schema.path("fields")) {
                if (!field.path("type").isString()) {
                    throw new IllegalStateException("a nested field: " + field);
                }
                names.put(field.path("id").asInt(), field.path("name").asString());
                types.put(field.path("id").asInt(), duckDbType(field.path("type").asString()));
            }
            List<String> key = new ArrayList<>();
            for (JsonNode id : schema.path("identifier-field-ids")) {
                key.add(names.get(id.asInt()));
            }
            for (JsonNode spec : metadata.path("partition-specs")) {
                if (spec.path("spec-id").asInt() == metadata.path("default-spec-id").asInt()
                        && !spec.path("fields").isEmpty()) {
                    throw new IllegalStateException("a partitioned table: " + spec);
                }
            }
            List<String> columns = new ArrayList<>(names.values());
            long current = metadata.path("current-snapshot-id").asLong(-1);
            if (current == -1) {
                return new Contents(columns, Map.of(), key, List.of(), List.of());
            }
            String manifestList = null;
            for (JsonNode snapshot : metadata.path("snapshots")) {
                if (snapshot.path("snapshot-id").asLong() == current) {
                    manifestList = snapshot.path("manifest-list").asString();
                }
            }
            if (manifestList == null) {
                throw new IllegalStateException("no snapshot " + current + " in " + metadataLocation);
            }
            List<LiveFile> files = liveFiles(manifestList);
            return query(columns, key, names, types, files);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode currentSchema(JsonNode metadata) {
        int id = metadata.path("current-schema-id").asInt();
        for (JsonNode schema : metadata.path("schemas")) {
            if (schema.path("schema-id").asInt() == id) {
                return schema;
            }
        }
        throw new IllegalStateException("no current schema " + id);
    }

    /** The manifest list's manifests, their entries that are not DELETED, sequence numbers inherited. */
    private static List<LiveFile> liveFiles(String manifestList) throws IOException {
        List<LiveFile> files = new ArrayList<>();
        try (DataFileReader<GenericRecord> manifests = new DataFileReader<>(localFile(manifestList),
                new GenericDatumReader<>())) {
            for (GenericRecord manifest : manifests) {
                long manifestSequence = (Long) manifest.get("sequence_number");
                try (DataFileReader<GenericRecord> entries = new DataFileReader<>(
                        localFile(manifest.get("manifest_path").toString()), new GenericDatumReader<>())) {
                    for (GenericRecord entry : entries) {
                        int status = (Integer) entry.get("status");
                        if (status == DELETED) {
                            continue;
                        }
                        long sequence = inherited((Long) entry.get("sequence_number"), status, manifestSequence,
                                manifest);
                        long fileSequence = inherited((Long) entry.get("file_sequence_number"), status,
                                manifestSequence, manifest);
                        GenericRecord file = (GenericRecord) entry.get("data_file");
                        if (!"PARQUET".equals(file.get("file_format").toString())) {
                            throw new IllegalStateException("not a parquet file: " + file.get("file_path"));
                        }
                        if (file.getSchema().getField("referenced_data_file") != null
                                && file.get("referenced_data_file") != null) {
                            throw new IllegalStateException("a deletion vector: " + file.get("file_path"));
                        }
                        List<Integer> equalityIds = new ArrayList<>();
                        if (file.get("equality_ids") instanceof List<?> ids) {
                            ids.forEach(id -> equalityIds.add((Integer) id));
                        }
                        files.add(new LiveFile((Integer) file.get("content"), file.get("file_path").toString(),
                                sequence, fileSequence, equalityIds));
                    }
                }
            }
        }
        return files;
    }

    /** Spec v2, sequence number inheritance: only an ADDED entry may leave it null, for its manifest's. */
    private static long inherited(Long sequence, int status, long manifestSequence, GenericRecord manifest) {
        if (sequence != null) {
            return sequence;
        }
        if (status != ADDED) {
            throw new IllegalStateException("an EXISTING entry without a sequence number in "
                    + manifest.get("manifest_path"));
        }
        return manifestSequence;
    }

    private static Contents query(List<String> columns, List<String> key, Map<Integer, String> names,
                                  Map<Integer, String> types, List<LiveFile> files) throws SQLException {
        List<LiveFile> data = files.stream().filter(f -> f.content() == DATA).toList();
        if (data.isEmpty()) {
            return new Contents(columns, Map.of(), key, List.of(), files);
        }
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
             Statement statement = duck.createStatement()) {
            statement.execute("SET threads = 1");      // a test's read of a small table, on shared cores
            statement.execute("CREATE TEMP TABLE live_files (path VARCHAR, location VARCHAR, content INTEGER, "
                    + "seq BIGINT)");
            for (LiveFile file : files) {
                statement.execute("INSERT INTO live_files VALUES (" + literal(localFile(file.location()).getPath())
                        + ", " + literal(file.location()) + ", " + file.content() + ", " + file.sequenceNumber()
                        + ")");
            }
            // Columns are found by their field ids, as the spec says (a renamed column keeps its id, a column
            // dropped and added again under its name has a new one), cast to the current schema's types; a file
            // written before a column was added reads NULL for it.
            StringBuilder sql = new StringBuilder("WITH d AS (SELECT r.*, f.location AS \"__location\", "
                    + "f.seq AS \"__seq\" FROM read_parquet(" + paths(data) + ", filename = '__path', "
                    + "file_row_number = true, schema = " + byFieldId(names.keySet(), names, types) + ") r "
                    + "JOIN live_files f ON f.path = r.\"__path\")\n"
                    + "SELECT " + columns.stream().map(DuckDbIcebergReader::identifier)
                    .collect(Collectors.joining(", ")) + " FROM d WHERE true");
            Map<List<Integer>, List<LiveFile>> byEqualityIds = files.stream()
                    .filter(f -> f.content() == EQUALITY_DELETES)
                    .collect(Collectors.groupingBy(LiveFile::equalityIds, LinkedHashMap::new, Collectors.toList()));
            for (Map.Entry<List<Integer>, List<LiveFile>> group : byEqualityIds.entrySet()) {
                String matches = group.getKey().stream().map(names::get).map(DuckDbIcebergReader::identifier)
                        .map(c -> "e." + c + " IS NOT DISTINCT FROM d." + c).collect(Collectors.joining(" AND "));
                sql.append("\n AND NOT EXISTS (SELECT 1 FROM read_parquet(").append(paths(group.getValue()))
                        .append(", filename = '__path', schema = ").append(byFieldId(group.getKey(), names, types))
                        .append(") e JOIN live_files f ON f.path = e.\"__path\" WHERE ")
                        .append("f.seq > d.\"__seq\" AND ").append(matches).append(")");
            }
            List<LiveFile> positions = files.stream().filter(f -> f.content() == POSITION_DELETES).toList();
            if (!positions.isEmpty()) {
                sql.append("\n AND NOT EXISTS (SELECT 1 FROM read_parquet(").append(paths(positions))
                        .append(", filename = '__path') p JOIN live_files f ON f.path = p.\"__path\" WHERE ")
                        .append("f.seq >= d.\"__seq\" AND p.file_path = d.\"__location\" ")
                        .append("AND p.pos = d.file_row_number)");
            }
            // The types DuckDB's parquet reader gives the data files' columns of itself, before the casts above:
            // what any DuckDB user reading the files with read_parquet sees.
            Map<String, String> asRead = new LinkedHashMap<>();
            try (ResultSet rs = statement.executeQuery("DESCRIBE SELECT * FROM read_parquet(" + paths(data)
                    + ", union_by_name = true)")) {
                while (rs.next()) {
                    asRead.put(rs.getString("column_name"), rs.getString("column_type"));
                }
            }
            List<Map<String, Object>> rows = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery(sql.toString())) {
                ResultSetMetaData meta = rs.getMetaData();
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (int i = 1; i <= meta.getColumnCount(); i++) {
                        row.put(meta.getColumnName(i), value(rs, i, meta.getColumnTypeName(i)));
                    }
                    rows.add(row);
                }
            }
            return new Contents(columns, asRead, key, rows, files);
        }
    }

    /** read_parquet's {@code schema}: the fields' ids → their current names and DuckDB types. */
    private static String byFieldId(java.util.Collection<Integer> ids, Map<Integer, String> names,
                                    Map<Integer, String> types) {
        return ids.stream().map(id -> {
            if (!names.containsKey(id)) {
                throw new IllegalStateException("no field " + id + " in the current schema");
            }
            return id + ": {name: " + literal(names.get(id)) + ", type: " + literal(types.get(id))
                    + ", default_value: NULL}";
        }).collect(Collectors.joining(", ", "MAP {", "}"));
    }

    /** An Iceberg primitive type (as the metadata JSON spells it) as DuckDB's type. */
    private static String duckDbType(String iceberg) {
        if (iceberg.startsWith("decimal(")) {
            return iceberg.replace("decimal", "DECIMAL").replace(" ", "");
        }
        if (iceberg.startsWith("fixed[")) {
            return "BLOB";
        }
        return switch (iceberg) {
            case "boolean" -> "BOOLEAN";
            case "int" -> "INTEGER";
            case "long" -> "BIGINT";
            case "float" -> "FLOAT";
            case "double" -> "DOUBLE";
            case "date" -> "DATE";
            case "time" -> "TIME";
            case "timestamp" -> "TIMESTAMP";
            case "timestamptz" -> "TIMESTAMPTZ";
            case "string" -> "VARCHAR";
            case "uuid" -> "UUID";
            case "binary" -> "BLOB";
            default -> throw new IllegalStateException("an Iceberg type this reader does not know: " + iceberg);
        };
    }

    private static Object value(ResultSet rs, int column, String type) throws SQLException {
        if (type.equals("TIMESTAMP")) {
            return rs.getObject(column, LocalDateTime.class);
        }
        Object value = rs.getObject(column);
        if (value instanceof Blob blob) {
            return blob.getBytes(1, (int) blob.length());
        }
        return value;
    }

    private static String paths(List<LiveFile> files) {
        return files.stream().map(f -> literal(localFile(f.location()).getPath()))
                .collect(Collectors.joining(", ", "[", "]"));
    }

    /** A warehouse location ({@code file:/…}, or a plain path) as a local file. */
    private static File localFile(String location) {
        if (location.startsWith("file:")) {
            return Path.of(URI.create(location)).toFile();
        }
        if (location.contains("://")) {
            throw new IllegalStateException("not a local file: " + location);
        }
        return new File(location);
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }

    private static String identifier(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
