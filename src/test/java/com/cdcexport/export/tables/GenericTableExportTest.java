package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;

/** Tables the service does not own, captured without touching their shape, with every guarantee users has. */
class GenericTableExportTest extends IntegrationTest {

    private static final String ORDERS = "app.orders";
    private static final String LINES = "app.order_lines";

    /** Runs an export of {@code tables} to the end and returns the 202 body. */
    private Api.Response exportTables(String type, String consumer, String... tables) {
        StringBuilder query = new StringBuilder();
        for (String table : tables) {
            query.append(query.isEmpty() ? "?" : "&").append("table=").append(table);
        }
        Api.Response response = api.post("/exports/" + type + query, consumer);
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        String status = awaitJob(response.field("jobId"));
        assertThat(status).as("job %s", jobRow(response.field("jobId"))).isEqualTo("completed");
        return response;
    }

    private List<String[]> rowsOf(Api.Response accepted, String table) {
        for (var file : accepted.json().get("files")) {
            if (file.get("table").asString().equals("app." + table.replace("app.", ""))) {
                return readCsv(file.get("filename").asString());
            }
        }
        throw new AssertionError("no file of " + table + " in " + accepted.body());
    }

    private void order(long id, String customer, String total) {
        jdbc.update("INSERT INTO app.orders (id, customer, total) VALUES (?, ?, ?::numeric)", id, customer, total);
    }

    @Test
    void captureLeavesTheTablesShapeAndItsApplicationsStatementsAsTheyWere() {
        assertThat(jdbc.queryForList("SELECT column_name FROM information_schema.columns WHERE table_schema = 'app'"
                + " AND table_name = 'orders' ORDER BY ordinal_position", String.class))
                .containsExactly("id", "customer", "total", "status", "placed_at");
        // An application's INSERT without a column list and its SELECT * see exactly their own columns.
        jdbc.update("INSERT INTO app.orders VALUES (1, 'Ada', 10.50, 'paid', '2026-01-01T00:00:00Z')");
        assertThat(jdbc.queryForMap("SELECT * FROM app.orders")).containsOnlyKeys("id", "customer", "total", "status",
                "placed_at");
    }

    @Test
    void fullExportOfSeveralTablesWritesOneFilePerTableNamedAfterIt() {
        order(1, "Ada", "10.50");
        jdbc.update("INSERT INTO app.order_lines VALUES (1, 1, 'apple', 3), (1, 2, 'pear', 1)");

        Api.Response accepted = exportTables("full", "warehouse", ORDERS, LINES);

        assertThat(accepted.field("outputFilename")).matches("full_warehouse_app\\.orders_\\d{8}T\\d{6}Z\\.csv");
        assertThat(rowsOf(accepted, LINES)).hasSize(3);
        assertThat(rowsOf(accepted, ORDERS).get(0)).containsExactly("id", "customer", "total", "status", "placed_at");
        assertThat(rowsOf(accepted, ORDERS).get(1)[2]).as("numeric exactly").isEqualTo("10.50");
        Api.Response job = api.get("/exports/jobs/" + accepted.field("jobId"), "warehouse");
        assertThat(job.json().get("files").get(1).get("rows").asLong()).isEqualTo(2);
        assertThat(api.get("/exports/watermark?table=app.order_lines", "warehouse").field("table"))
                .isEqualTo("app.order_lines");
        assertThat(api.get("/exports/watermark", "warehouse").status()).as("no users export yet").isEqualTo(404);
    }

    @Test
    void deltaOfAGenericTableTellsInsertUpdateAndDeleteWithTheDeletedRowsLastValues() {
        order(1, "Ada", "10.00");
        order(2, "Bob", "20.00");
        exportTables("full", "warehouse", ORDERS);
        order(3, "Cy", "30.00");
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id = 1");
        jdbc.update("DELETE FROM app.orders WHERE id = 2");
        order(4, "Dee", "40.00");
        jdbc.update("DELETE FROM app.orders WHERE id = 4"); // born and gone between exports: nothing to tell

        List<String[]> delta = rowsOf(exportTables("delta", "warehouse", ORDERS), ORDERS);

        assertThat(delta.get(0)).containsExactly("operation", "id", "customer", "total", "status", "placed_at");
        assertThat(delta.stream().skip(1).map(r -> r[0] + " " + r[1] + " " + r[2] + " " + r[4]))
                .containsExactly("UPDATE 1 Ada paid", "DELETE 2 Bob new", "INSERT 3 Cy new");
        assertThat(rowsOf(exportTables("delta", "warehouse", ORDERS), ORDERS)).as("nothing twice").hasSize(1);
    }

    @Test
    void compositeKeysNameRowsByTheWholeKey() {
        jdbc.update("INSERT INTO app.order_lines VALUES (1, 1, 'apple', 3), (1, 2, 'pear', 1), (2, 1, 'fig', 9)");
        exportTables("full", "warehouse", LINES);
        jdbc.update("UPDATE app.order_lines SET qty = 4 WHERE order_id = 1 AND line_no = 2");
        jdbc.update("DELETE FROM app.order_lines WHERE order_id = 2 AND line_no = 1");

        List<String[]> delta = rowsOf(exportTables("delta", "warehouse", LINES), LINES);

        assertThat(delta.stream().skip(1).map(r -> String.join(" ", r)))
                .containsExactly("UPDATE 1 2 pear 4", "DELETE 2 1 fig 9");
    }

    @Test
    void aKeyChangedByAnUpdateIsADeleteOfTheOldKeyAndAnInsertOfTheNew() {
        order(1, "Ada", "10.00");
        exportTables("full", "warehouse", ORDERS);
        jdbc.update("UPDATE app.orders SET id = 10 WHERE id = 1");

        List<String[]> delta = rowsOf(exportTables("delta", "warehouse", ORDERS), ORDERS);

        assertThat(delta.stream().skip(1).map(r -> r[0] + " " + r[1])).containsExactly("DELETE 1", "INSERT 10");
    }

    @Test
    void aChangeCommittedAfterAnExportStartedIsInTheNextExportOfAGenericTable() throws Exception {
        order(1, "Ada", "10.00");
        exportTables("full", "warehouse", ORDERS);
        try (Connection late = openConnection()) {
            late.setAutoCommit(false);
            try (Statement statement = late.createStatement()) {
                statement.execute("INSERT INTO app.orders (id, customer) VALUES (2, 'Late')");
                order(3, "Early", "1.00");
                assertThat(column(rowsOf(exportTables("incremental", "warehouse", ORDERS), ORDERS), "id"))
                        .containsExactly("3");
            }
            late.commit();
        }
        assertThat(column(rowsOf(exportTables("incremental", "warehouse", ORDERS), ORDERS), "id"))
                .containsExactly("2");
    }

    @Test
    void manyRowsChangedByOneStatementAreAllExported() {
        jdbc.update("INSERT INTO app.orders (id, customer) SELECT g, 'c' || g FROM generate_series(1, 5000) g");
        exportTables("full", "warehouse", ORDERS);
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id % 2 = 0");

        assertThat(rowsOf(exportTables("incremental", "warehouse", ORDERS), ORDERS)).hasSize(2501);
    }

    @Test
    void afterTruncateAWindowIsRefusedUntilAFullExportResyncs() {
        order(1, "Ada", "10.00");
        exportTables("full", "warehouse", ORDERS);
        jdbc.execute("TRUNCATE app.orders");
        order(2, "Bob", "20.00");

        Api.Response refused = api.post("/exports/delta?table=app.orders", "warehouse");
        assertThat(awaitJob(refused.field("jobId"))).isEqualTo("failed");
        assertThat(jobRow(refused.field("jobId")).get("error").toString())
                .contains("app.orders was truncated").contains("POST /exports/full?table=app.orders");

        assertThat(column(rowsOf(exportTables("full", "warehouse", ORDERS), ORDERS), "id")).containsExactly("2");
        assertThat(rowsOf(exportTables("delta", "warehouse", ORDERS), ORDERS)).hasSize(1);
    }

    @Test
    void schemaChangesShowInTheNextHeaderAndLoseNoChange() {
        order(1, "Ada", "10.00");
        order(2, "Bob", "20.00");
        exportTables("full", "warehouse", ORDERS);
        try {
            jdbc.execute("ALTER TABLE app.orders RENAME COLUMN customer TO client");
            jdbc.execute("ALTER TABLE app.orders ADD COLUMN note TEXT");
            jdbc.execute("ALTER TABLE app.orders ALTER COLUMN total TYPE NUMERIC(14, 3)");
            jdbc.update("UPDATE app.orders SET note = 'gift' WHERE id = 1");
            jdbc.update("DELETE FROM app.orders WHERE id = 2");
            jdbc.update("INSERT INTO app.orders (id, client, total) VALUES (3, 'Cy', 3)");

            List<String[]> delta = rowsOf(exportTables("delta", "warehouse", ORDERS), ORDERS);

            assertThat(delta.get(0)).containsExactly("operation", "id", "client", "total", "status", "placed_at",
                    "note");
            assertThat(delta.stream().skip(1).map(r -> r[0] + " " + r[1] + " " + r[2] + " " + r[3] + " " + r[6]))
                    .containsExactly("UPDATE 1 Ada 10.000 gift", "DELETE 2 Bob 20.000 ", "INSERT 3 Cy 3.000 ");
        } finally {
            TestDatabase.recreateOrders();
        }
    }

    @Test
    void everyCommonTypeRoundTripsThroughPostgresCopyAndNullStaysApartFromEmptyText() throws Exception {
        jdbc.update("""
                INSERT INTO app.all_types VALUES
                  ('6f1c0d3e-1b7e-4c55-9d2a-0b1e2f3a4b5c', 12345678901234567890.000000000001, -32768,
                   9223372036854775807, 0.1, true, 'comma, "quote"' || chr(10) || 'newline', '', 'ab',
                   '{1,NULL,3}', '{"a b","c,d",NULL}', '{"k": [1, 2.50, null], "s": "x"}', '\\x00ff10',
                   '2026-02-03 04:05:06.789012', '2026-02-03 04:05:06.789012+02', '2026-02-03', '1 day 02:03:04.5',
                   '23:59:59.999999'),
                  ('00000000-0000-0000-0000-000000000000', NULL, NULL, NULL, 'NaN', false, NULL, NULL, NULL,
                   '{}', NULL, 'null', '\\x', '-infinity', 'infinity', NULL, NULL, NULL)""");

        Api.Response accepted = exportTables("full", "types", "app.all_types");
        String file = accepted.field("outputFilename");

        try (Connection connection = openConnection()) {
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute("CREATE TEMP TABLE back (LIKE app.all_types) ON COMMIT DROP");
                connection.unwrap(PGConnection.class).getCopyAPI().copyIn(
                        "COPY back FROM STDIN WITH (FORMAT csv, HEADER)", Files.newInputStream(OUTPUT_DIR.resolve(file)));
                var differences = statement.executeQuery("""
                        SELECT count(*) FROM ((SELECT * FROM back EXCEPT SELECT * FROM app.all_types)
                                              UNION ALL (SELECT * FROM app.all_types EXCEPT SELECT * FROM back)) d""");
                differences.next();
                assertThat(differences.getLong(1)).isZero();
                var text = statement.executeQuery("SELECT txt IS NULL, vc = '' FROM back ORDER BY id");
                text.next();
                assertThat(text.getBoolean(1)).as("NULL text stays NULL").isTrue();
                text.next();
                assertThat(text.getBoolean(2)).as("empty text stays empty").isTrue();
            }
            connection.rollback();
        }
        String content = Files.readString(OUTPUT_DIR.resolve(file));
        assertThat(content).contains("2026-02-03T02:05:06.789012Z").contains("2026-02-03T04:05:06.789012")
                .contains(",\"\",").contains("\\x00ff10");
    }

    @Test
    void aTransactionThatChangedTwoTablesIsInOneExportEntirely() throws Exception {
        exportTables("full", "warehouse", ORDERS, LINES);
        Thread writer = new Thread(() -> {
            for (int i = 1; i <= 150; i++) {
                try (Connection connection = openConnection()) {
                    connection.setAutoCommit(false);
                    try (Statement statement = connection.createStatement()) {
                        statement.execute("INSERT INTO app.orders (id, customer) VALUES (" + i + ", 'c')");
                        statement.execute("INSERT INTO app.order_lines VALUES (" + i + ", 1, 'x', 1), ("
                                + i + ", 2, 'y', 2)");
                    }
                    connection.commit();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        writer.start();
        int exports = 0;
        long seenOrders = 0;
        while (writer.isAlive() || exports == 0 || seenOrders < 150) {
            Api.Response accepted = exportTables("incremental", "warehouse", ORDERS, LINES);
            List<String> orders = column(rowsOf(accepted, ORDERS), "id");
            List<String> lines = column(rowsOf(accepted, LINES), "order_id");
            assertThat(lines).as("export %d: lines of exactly its orders", exports)
                    .containsExactlyInAnyOrderElementsOf(orders.stream().flatMap(o -> List.of(o, o).stream()).toList());
            seenOrders += orders.size();
            exports++;
        }
        writer.join();
        assertThat(seenOrders).as("every order exactly once").isEqualTo(150);
        assertThat(exports).isGreaterThan(1);
    }

    @Test
    void aTableThatLostItsPrimaryKeyFailsItsExportSayingSo() {
        jdbc.execute("ALTER TABLE app.order_lines DROP CONSTRAINT order_lines_pkey");
        try {
            Api.Response refused = api.post("/exports/full?table=app.order_lines", "warehouse");
            assertThat(awaitJob(refused.field("jobId"))).isEqualTo("failed");
            assertThat(jobRow(refused.field("jobId")).get("error").toString())
                    .contains("app.order_lines has no primary key any more");
        } finally {
            jdbc.execute("ALTER TABLE app.order_lines ADD PRIMARY KEY (order_id, line_no)");
        }
    }

    @Test
    void aTableThatIsNotCapturedIsNotFound() {
        Api.Response response = api.post("/exports/full?table=pg_catalog.pg_authid", "warehouse");
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(api.post("/exports/full?table=app.orders;drop", "warehouse").status()).isEqualTo(400);
    }
}
