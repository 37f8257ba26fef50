package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.cdcexport.export.model.TableShape;
import com.cdcexport.export.model.TableShape.Column;

/**
 * Splits one table's export into chunks that follow the file's order: ranges of the first primary-key column,
 * whatever its type (integer, text, uuid, the first column of a composite key). The serial file is ordered by the
 * key, and rows whose first key column lies in an earlier range come earlier in that order, so the chunks read in
 * range order and joined are that file byte for byte. (Ranges of ctid, the physical row address, would balance as
 * well but are not in key order: joining them would need a merge of sorted runs by key in Java, with PostgreSQL's
 * collations re-implemented; key ranges leave every comparison to PostgreSQL.)
 *
 * <p>The bounds are quantiles of the column, so chunks hold similar numbers of rows even with gaps in the ids:
 * from the histogram ANALYZE keeps in pg_stats (free; the first and last ranges are open, so rows added since
 * the last ANALYZE are still read, only less evenly), else from a page sample of the table in the export's
 * snapshot (TABLESAMPLE SYSTEM, a few hundred rows per chunk, ranked in the database). Chunks may come out empty;
 * that costs one short statement.
 */
final class ChunkPlan {

    /** Sampled values per chunk: enough for quantiles within a few per cent. */
    private static final int SAMPLE_PER_CHUNK = 200;

    private ChunkPlan() {
    }

    /**
     * At most {@code chunks} ranges covering the whole key space in order; a single {@link KeyRange#ALL} when the
     * table gives no bounds (empty, or one key value).
     */
    static List<KeyRange> split(Connection connection, TableShape shape, int chunks, long expectedRows)
            throws SQLException {
        if (chunks < 2) {
            return List.of(KeyRange.ALL);
        }
        List<String> histogram = histogram(connection, shape);
        List<String> bounds = histogram.size() >= 2 ? quantiles(histogram, chunks)
                : sampled(connection, shape, chunks, expectedRows);
        List<KeyRange> ranges = new ArrayList<>();
        Optional<String> from = Optional.empty();
        for (String bound : bounds) {
            ranges.add(new KeyRange(from, Optional.of(bound)));
            from = Optional.of(bound);
        }
        ranges.add(new KeyRange(from, Optional.empty()));
        return List.copyOf(ranges);
    }

    /** Every {@code (size-1)/chunks}-th value of a sorted list, without repeats and without the first value. */
    static List<String> quantiles(List<String> sorted, int chunks) {
        List<String> bounds = new ArrayList<>();
        for (int j = 1; j < chunks; j++) {
            String value = sorted.get((int) Math.round((double) j * (sorted.size() - 1) / chunks));
            if (!value.equals(sorted.get(0)) && (bounds.isEmpty() || !bounds.get(bounds.size() - 1).equals(value))) {
                bounds.add(value);
            }
        }
        return bounds;
    }

    private static List<String> histogram(Connection connection, TableShape shape) throws SQLException {
        Column key = shape.key().get(0);
        // histogram_bounds is anyarray: through text to the column's own array type, then each value as text.
        try (PreparedStatement statement = connection.prepareStatement("SELECT b::text FROM pg_stats s, unnest("
                + "s.histogram_bounds::text::" + key.type() + "[]) WITH ORDINALITY AS h(b, n)"
                + " WHERE s.schemaname = ? AND s.tablename = ? AND s.attname = ? AND NOT s.inherited ORDER BY h.n")) {
            statement.setString(1, shape.name().schema());
            statement.setString(2, shape.name().table());
            statement.setString(3, key.name());
            return strings(statement.executeQuery());
        }
    }

    private static List<String> sampled(Connection connection, TableShape shape, int chunks, long expectedRows)
            throws SQLException {
        String key = "t." + shape.key().get(0).sql();
        double percent = expectedRows <= 0 ? 100
                : Math.min(100, 100.0 * SAMPLE_PER_CHUNK * chunks / expectedRows);
        try (Statement statement = connection.createStatement()) {
            List<String> bounds = strings(statement.executeQuery("SELECT DISTINCT ON (tile) k::text FROM (SELECT "
                    + key + " AS k, ntile(" + chunks + ") OVER (ORDER BY " + key + ") AS tile FROM "
                    + shape.name().sql() + " t TABLESAMPLE SYSTEM (" + String.format(java.util.Locale.ROOT, "%.6f",
                    percent) + ")) s ORDER BY tile, k OFFSET 1"));
            List<String> distinct = new ArrayList<>();
            for (String bound : bounds) {
                if (distinct.isEmpty() || !distinct.get(distinct.size() - 1).equals(bound)) {
                    distinct.add(bound);
                }
            }
            return distinct;
        }
    }

    private static List<String> strings(ResultSet rs) throws SQLException {
        try (rs) {
            List<String> values = new ArrayList<>();
            while (rs.next()) {
                values.add(rs.getString(1));
            }
            return values;
        }
    }
}
