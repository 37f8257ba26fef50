package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;

/**
 * What the capture triggers write into the change log, read straight from it: one entry per changed row, its key as
 * to_jsonb renders the values in key order, whatever the table's columns are called now.
 */
class CaptureTriggersTest extends IntegrationTest {

    /** "op key" of app.orders' entries (or another table's), in the order they were written. */
    private List<String> entries(String table) {
        return jdbc.queryForList("SELECT op::text || ' ' || key::text FROM change_log WHERE table_oid = ?::regclass"
                + " ORDER BY change_xid, seq", String.class, table);
    }

    @Test
    void aHundredRowUpdateLogsAHundredEntriesWithTheirKeys() {
        jdbc.update("INSERT INTO app.orders (id, customer) SELECT g, 'c' || g FROM generate_series(1, 300) g");
        jdbc.execute("TRUNCATE change_log");

        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id BETWEEN 101 AND 200");

        assertThat(entries("app.orders")).containsExactlyInAnyOrderElementsOf(
                java.util.stream.IntStream.rangeClosed(101, 200).mapToObj(id -> "U [" + id + "]").toList());
    }

    @Test
    void aRenamedKeyColumnStillNamesItsRowsAndADeleteKeepsItsLastValuesUnderTheNewNames() {
        try {
            jdbc.execute("ALTER TABLE app.orders DROP COLUMN total");
            jdbc.execute("ALTER TABLE app.orders RENAME COLUMN id TO order_no");
            jdbc.execute("ALTER TABLE app.orders ADD COLUMN note TEXT");
            jdbc.update("INSERT INTO app.orders (order_no, customer) VALUES (1, 'Ada'), (2, 'Bob')");
            jdbc.update("UPDATE app.orders SET note = 'gift' WHERE order_no = 1");
            jdbc.execute("ALTER TABLE app.orders ALTER COLUMN customer TYPE VARCHAR(40)");
            jdbc.update("UPDATE app.orders SET note = 'wrapped' WHERE order_no = 1");
            jdbc.update("DELETE FROM app.orders WHERE order_no = 2");

            assertThat(entries("app.orders")).containsExactly("I [1]", "I [2]", "U [1]", "U [1]", "D [2]");
            assertThat(jdbc.queryForObject("SELECT old_row ->> 'order_no' || ' ' || (old_row ->> 'customer')"
                    + " FROM change_log WHERE op = 'D'", String.class)).isEqualTo("2 Bob");
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    @Test
    void compositeKeysAreLoggedInKeyOrderWhereverTheirColumnsStandAndWhateverTheOtherColumnsAreCalled() {
        jdbc.update("INSERT INTO app.order_lines VALUES (7, 1, 'apple', 3), (7, 2, 'pear', 1)");
        jdbc.update("UPDATE app.order_lines SET qty = qty + 1");
        // The key's columns in another order than the table's, and columns named like the triggers' own names.
        jdbc.execute("""
                CREATE TABLE app.shipments (line_no INT, note TEXT, order_id INT, r TEXT, op TEXT, tg_relid TEXT,
                                            "key" TEXT, PRIMARY KEY (order_id, line_no));
                SELECT cdc.install_capture('app.shipments')""");
        try {
            jdbc.update("INSERT INTO app.shipments VALUES (1, 'a', 7, 'r', 'op', 't', 'k'), (2, 'b', 7, 'r', 'op', 't', 'k')");
            jdbc.execute("ALTER TABLE app.shipments RENAME COLUMN order_id TO parcel_of");
            jdbc.update("UPDATE app.shipments SET note = 'c' WHERE line_no = 2");
            jdbc.update("DELETE FROM app.shipments WHERE line_no = 1");

            assertThat(entries("app.order_lines")).containsExactly("I [7, 1]", "I [7, 2]", "U [7, 1]", "U [7, 2]");
            assertThat(entries("app.shipments")).containsExactly("I [7, 1]", "I [7, 2]", "U [7, 2]", "D [7, 1]");
        } finally {
            jdbc.execute("DROP TABLE app.shipments");
        }
    }

    @Test
    void aKeyChangedByAnUpdateLogsTheOldKeyDeletedWithItsValuesAndTheNewOneInserted() {
        jdbc.update("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        jdbc.execute("TRUNCATE change_log");

        jdbc.update("UPDATE app.orders SET id = 10 WHERE id = 1");

        assertThat(entries("app.orders")).containsExactly("D [1]", "I [10]", "U [10]");
        assertThat(jdbc.queryForObject("SELECT old_row ->> 'customer' FROM change_log WHERE op = 'D'", String.class))
                .isEqualTo("Ada");
    }

    @Test
    void triggersInstalledByAnEarlierVersionAreReportedOutOfDateSoStartUpReinstallsThem() {
        try {
            jdbc.execute("CREATE OR REPLACE TRIGGER cdc_capture_update AFTER UPDATE ON app.orders REFERENCING NEW TABLE"
                    + " AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdc.capture_new_rows('id')");
            assertThat(jdbc.queryForObject("SELECT cdc.capture_installed('app.orders')", Boolean.class)).isFalse();

            jdbc.execute("SELECT cdc.install_capture('app.orders')");
            assertThat(jdbc.queryForObject("SELECT cdc.capture_installed('app.orders')", Boolean.class)).isTrue();
        } finally {
            jdbc.execute("SELECT cdc.install_capture('app.orders')");
        }
    }
}
