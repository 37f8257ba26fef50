package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.export.model.TableName;
import com.cdcexport.export.model.TableShape;
import com.cdcexport.support.TestDatabase;

/**
 * Chunk bounds on real tables: whatever the key's type and the statistics, the ranges in order, each read in key
 * order, are the whole table in key order, every row exactly once.
 */
class ChunkPlanTest {

    private static final int CHUNKS = 8;
    private final JdbcTemplate jdbc = TestDatabase.jdbc();
    private Connection connection;

    @BeforeEach
    void tables() throws SQLException {
        jdbc.execute("DROP SCHEMA IF EXISTS chunks CASCADE; CREATE SCHEMA chunks;"
                + "CREATE TABLE chunks.ints (id BIGINT PRIMARY KEY, v TEXT);"
                + "CREATE TABLE chunks.pairs (a INT, b INT, PRIMARY KEY (a, b));"
                + "CREATE TABLE chunks.texts (k TEXT PRIMARY KEY);"
                + "CREATE TABLE chunks.uuids (id UUID PRIMARY KEY)");
        connection = TestDatabase.connect();
        connection.setAutoCommit(false);
    }

    @AfterEach
    void close() throws SQLException {
        connection.close();
        jdbc.execute("DROP SCHEMA chunks CASCADE");
    }

    @Test
    void anEmptyTableIsOneChunkWithoutBounds() throws SQLException {
        jdbc.execute("ANALYZE chunks.ints");
        assertThat(split("ints", 0)).containsExactly(KeyRange.ALL);
    }

    @Test
    void aTableOfOneRowIsOneChunk() throws SQLException {
        jdbc.execute("INSERT INTO chunks.ints VALUES (42, 'x'); ANALYZE chunks.ints");
        assertThat(split("ints", 1)).containsExactly(KeyRange.ALL);
    }

    @Test
    void gapsInTheIdsStillGiveChunksOfSimilarSize() throws SQLException {
        jdbc.execute("INSERT INTO chunks.ints SELECT g, 'a' FROM generate_series(1, 4000) g;"
                + "INSERT INTO chunks.ints SELECT g, 'b' FROM generate_series(10000000, 10004000) g;"
                + "ANALYZE chunks.ints");
        List<KeyRange> ranges = split("ints", 8001);
        assertThat(ranges).hasSize(CHUNKS);
        assertPartition("ints", "t.id", ranges);
        // min/max bounds would put 4000 rows in the first chunk and 4001 in the last, none between.
        assertThat(sizes("ints", "id", ranges)).allSatisfy(size -> assertThat(size).isBetween(600L, 1400L));
    }

    @Test
    void withoutStatisticsBoundsComeFromASampleInTheSnapshot() throws SQLException {
        jdbc.execute("INSERT INTO chunks.ints SELECT g * 3, 'a' FROM generate_series(1, 3000) g");
        List<KeyRange> ranges = split("ints", 3000);
        assertThat(ranges).hasSizeGreaterThan(CHUNKS / 2);
        assertPartition("ints", "t.id", ranges);
    }

    @Test
    void rowsAddedOrRemovedSinceAnalyzeAreReadAllTheSameAndChunksMayBeEmpty() throws SQLException {
        jdbc.execute("INSERT INTO chunks.ints SELECT g, 'a' FROM generate_series(1, 2000) g; ANALYZE chunks.ints;"
                + "DELETE FROM chunks.ints WHERE id BETWEEN 300 AND 1700;"
                + "INSERT INTO chunks.ints SELECT g, 'new' FROM generate_series(5000, 6000) g");
        List<KeyRange> ranges = split("ints", 2000);
        assertPartition("ints", "t.id", ranges);
        assertThat(sizes("ints", "id", ranges)).contains(0L);
    }

    @Test
    void moreChunksThanRowsGiveNoMoreRangesThanValues() throws SQLException {
        jdbc.execute("INSERT INTO chunks.ints VALUES (1, 'a'), (5, 'b'), (9, 'c'); ANALYZE chunks.ints");
        List<KeyRange> ranges = split("ints", 3);
        assertThat(ranges).hasSizeBetween(2, 3);
        assertPartition("ints", "t.id", ranges);
    }

    @Test
    void aCompositeKeyIsSplitOnItsFirstColumnKeepingTheKeyOrder() throws SQLException {
        jdbc.execute("INSERT INTO chunks.pairs SELECT a, b FROM generate_series(1, 500) a, generate_series(1, 4) b;"
                + "ANALYZE chunks.pairs");
        List<KeyRange> ranges = split("pairs", 2000);
        assertThat(ranges).hasSize(CHUNKS);
        assertPartition("pairs", "t.a, t.b", ranges);
    }

    @Test
    void aTextKeyIsSplitInTheColumnsOwnCollation() throws SQLException {
        jdbc.execute("INSERT INTO chunks.texts SELECT md5(g::text) FROM generate_series(1, 2000) g;"
                + "INSERT INTO chunks.texts VALUES ('Zebra'), ('apple'), ('Äpfel'), ('it''s'), ('a b'), ('');"
                + "ANALYZE chunks.texts");
        List<KeyRange> ranges = split("texts", 2006);
        assertThat(ranges).hasSize(CHUNKS);
        assertPartition("texts", "t.k", ranges);
    }

    @Test
    void aUuidKeyIsSplitLikeAnyOther() throws SQLException {
        jdbc.execute("INSERT INTO chunks.uuids SELECT md5(g::text)::uuid FROM generate_series(1, 2000) g");
        assertPartition("uuids", "t.id", split("uuids", 2000));
        jdbc.execute("ANALYZE chunks.uuids");
        List<KeyRange> ranges = split("uuids", 2000);
        assertThat(ranges).hasSize(CHUNKS);
        assertPartition("uuids", "t.id", ranges);
    }

    @Test
    void quantilesSkipRepeatsAndTheSmallestValue() {
        assertThat(ChunkPlan.quantiles(List.of("1", "2", "3", "4", "5", "6", "7", "8", "9"), 4))
                .containsExactly("3", "5", "7");
        assertThat(ChunkPlan.quantiles(List.of("1", "2", "2", "2", "3"), 4)).containsExactly("2");
    }

    private List<KeyRange> split(String table, long expectedRows) throws SQLException {
        TableShape shape = TableShape.read(connection, TestDatabase.SCHEMA, new TableName("chunks", table))
                .orElseThrow();
        try {
            return ChunkPlan.split(connection, shape, CHUNKS, expectedRows);
        } finally {
            connection.rollback();
        }
    }

    /** Every range read in key order, one after another, is the table read in key order. */
    private void assertPartition(String table, String key, List<KeyRange> ranges) {
        List<String> joined = new ArrayList<>();
        for (KeyRange range : ranges) {
            joined.addAll(jdbc.queryForList("SELECT (" + key + ")::text AS v FROM chunks." + table + " t WHERE "
                    + predicate(table, range) + " ORDER BY " + key, String.class));
        }
        assertThat(joined).hasSize(jdbc.queryForObject("SELECT count(*) FROM chunks." + table, Integer.class))
                .isEqualTo(jdbc.queryForList("SELECT (" + key + ")::text AS v FROM chunks." + table + " t ORDER BY "
                        + key, String.class));
    }

    private List<Long> sizes(String table, String key, List<KeyRange> ranges) {
        return ranges.stream().map(range -> jdbc.queryForObject("SELECT count(*) FROM chunks." + table + " t WHERE "
                + predicate(table, range), Long.class)).toList();
    }

    private String predicate(String table, KeyRange range) {
        return switch (table) {
            case "ints" -> range.predicate("t.id", "bigint");
            case "pairs" -> range.predicate("t.a", "integer");
            case "texts" -> range.predicate("t.k", "text");
            default -> range.predicate("t.id", "uuid");
        };
    }
}
