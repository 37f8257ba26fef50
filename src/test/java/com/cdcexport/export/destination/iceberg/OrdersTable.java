package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.TreeMap;

import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;

import org.springframework.jdbc.core.JdbcTemplate;

/** app.orders as the Iceberg tests write it and compare it: by key, every column as text. */
final class OrdersTable {

    private OrdersTable() {
    }

    /** Orders {@code from} to {@code to}, with a total and a time of their own. */
    static void insert(JdbcTemplate jdbc, int from, int to) {
        jdbc.update("INSERT INTO app.orders (id, customer, total, placed_at) SELECT g, 'Customer ' || g, g * 1.25, "
                + "timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(?, ?) g",
                from, to);
    }

    /** The live table's rows matching {@code where}: id → its values as text. */
    static Map<Long, String> live(JdbcTemplate jdbc, String where) {
        Map<Long, String> rows = new TreeMap<>();
        jdbc.query("SELECT id, customer, total, status, placed_at FROM app.orders WHERE " + where, rs -> {
            rows.put(rs.getLong(1), rs.getString(2) + "|" + rs.getBigDecimal(3) + "|" + rs.getString(4) + "|"
                    + rs.getObject(5, OffsetDateTime.class).toInstant());
        });
        return rows;
    }

    /** The Iceberg table's rows, read by Iceberg's generic reader, each key once. */
    static Map<Long, String> inIceberg(Table table) {
        Map<Long, String> rows = new TreeMap<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            for (Record r : records) {
                String previous = rows.put((Long) r.getField("id"), r.getField("customer") + "|"
                        + r.getField("total") + "|" + r.getField("status") + "|"
                        + ((OffsetDateTime) r.getField("placed_at")).toInstant());
                assertThat(previous).as("key %s once", r.getField("id")).isNull();
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return rows;
    }

    /**
     * Makes every commit of the Iceberg catalog fail at COMMIT (a deferred trigger): the export's transaction swaps
     * the table's pointer, then rolls back, a crash between the two systems made inside one. Undone by
     * {@link #commitsSucceed}.
     */
    static void commitsFailAtCommit(JdbcTemplate jdbc) {
        jdbc.execute("""
                CREATE FUNCTION cdc.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'failing at commit, as a test asks'; END $$;
                CREATE CONSTRAINT TRIGGER fail_at_commit AFTER UPDATE ON cdc.iceberg_tables
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cdc.fail_at_commit();""");
    }

    /**
     * Makes the export's database transaction fail at COMMIT whenever it records a table as applied (a deferred
     * trigger on {@code iceberg_applied}): with a REST catalog, the Iceberg commit has gone through by then and the
     * watermark does not move, a crash between the two systems. Undone by {@link #commitsSucceed}.
     */
    static void watermarkCommitsFail(JdbcTemplate jdbc) {
        jdbc.execute("""
                CREATE FUNCTION cdc.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'failing at commit, as a test asks'; END $$;
                CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT OR UPDATE ON cdc.iceberg_applied
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cdc.fail_at_commit();""");
    }

    static void commitsSucceed(JdbcTemplate jdbc) {
        jdbc.execute("DROP TRIGGER IF EXISTS fail_at_commit ON cdc.iceberg_tables");
        jdbc.execute("DROP TRIGGER IF EXISTS fail_at_commit ON cdc.iceberg_applied");
        jdbc.execute("DROP FUNCTION IF EXISTS cdc.fail_at_commit()");
    }

    /** A window of updates and a delete: orders 1 to 3 paid, order 4 gone. */
    static void payThreeAndDeleteOne(JdbcTemplate jdbc) {
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id <= 3");
        jdbc.update("DELETE FROM app.orders WHERE id = 4");
    }
}
