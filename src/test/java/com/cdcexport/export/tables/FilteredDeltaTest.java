package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/**
 * A consumer that sees a table through a row filter receives, in a delta, what it could see at its previous export
 * P and can see now at S: inside at both, UPDATE; at P only, DELETE (without the values its filter hides); at S only,
 * INSERT; at neither, nothing, ever.
 */
@TestPropertySource(properties = "cdc.auth.admin-token=" + FilteredDeltaTest.ADMIN_TOKEN)
class FilteredDeltaTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "filtered-delta-admin-token-7c2e9a4b1d6f3e8a5b0c";

    private void rule(String consumer, String table, String json) {
        Api.Response response = api.send("PUT", "/consumers/" + consumer + "/tables/" + table,
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN), json);
        assertThat(response.status()).as(response.body()).isEqualTo(200);
    }

    /** The data rows of an export of app.orders, each as "OPERATION id total" (or "id total" without operation). */
    private List<String> orders(String type, String consumer) {
        List<String[]> rows = readCsv(runExport(type, consumer, null, "app.orders").field("outputFilename"));
        return rows.stream().skip(1).map(r -> String.join(" ", r)).toList();
    }

    private void order(long id, String total) {
        jdbc.update("INSERT INTO app.orders (id, customer, total) VALUES (?, 'secret customer', ?::numeric)", id, total);
    }

    private void total(long id, String total) {
        jdbc.update("UPDATE app.orders SET total = ?::numeric WHERE id = ?", total, id);
    }

    @Test
    void aDeltaCarriesOnlyWhatTheConsumerCouldSeeAtPOrCanSeeAtS() {
        rule("small", "app.orders", "{\"columns\": [\"total\"], \"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"50\"}]}");
        order(1, "10");
        order(2, "20");
        order(3, "100");
        order(4, "200");
        order(5, "30");
        order(6, "300");
        order(10, "10");
        assertThat(orders("delta", "small")).as("a first delta: the rows inside the filter, as INSERT")
                .containsExactly("INSERT 1 10.00", "INSERT 2 20.00", "INSERT 5 30.00", "INSERT 10 10.00");

        total(3, "150");                                  // never inside: updated
        jdbc.update("DELETE FROM app.orders WHERE id = 4"); // never inside: deleted
        total(1, "999");                                  // leaves the filter
        total(6, "40");                                   // enters it
        total(2, "25");                                   // stays inside
        jdbc.update("DELETE FROM app.orders WHERE id = 5"); // deleted while inside
        order(7, "500");                                  // born outside
        order(8, "8");                                    // born inside
        order(9, "9");                                    // born inside, then leaves within the window
        total(9, "900");
        total(10, "999");                                 // leaves and comes back within the window
        total(10, "15");
        order(11, "11");                                  // born and deleted within the window
        jdbc.update("DELETE FROM app.orders WHERE id = 11");

        assertThat(orders("delta", "small")).containsExactly(
                "DELETE 1 ",        // the key alone: 999 is what the filter hides
                "UPDATE 2 25.00",
                "DELETE 5 30.00",   // its last values pass the filter: the consumer may see them
                "INSERT 6 40.00",   // the consumer never had it
                "INSERT 8 8.00",
                "UPDATE 10 15.00");

        total(1, "5");                                    // back inside: the consumer no longer holds it
        total(3, "160");
        jdbc.update("DELETE FROM app.orders WHERE id = 6");
        total(7, "600");
        jdbc.update("DELETE FROM app.orders WHERE id = 9"); // deleted after it left: the consumer never had it
        assertThat(orders("delta", "small")).containsExactly("INSERT 1 5.00", "DELETE 6 40.00");

        total(2, "21");
        total(3, "170");
        assertThat(orders("incremental", "small")).as("an incremental export shares the watermark")
                .containsExactly("2 21.00");
        total(2, "999");
        total(8, "7");
        assertThat(orders("delta", "small")).containsExactly("DELETE 2 ", "UPDATE 8 7.00");
        assertThat(orders("full", "small")).containsExactly("1 5.00", "8 7.00", "10 15.00");
        total(4 + 4, "888");
        assertThat(orders("delta", "small")).as("a full export replaces what the consumer holds")
                .containsExactly("DELETE 8 ");
    }

    @Test
    void aConsumerWithoutAFilterStillGetsEveryChangeWithItsLastValues() {
        rule("everything", "app.orders", "{\"columns\": [\"total\"]}");
        order(1, "10");
        order(2, "20");
        orders("full", "everything");
        total(1, "999");
        jdbc.update("DELETE FROM app.orders WHERE id = 2");
        order(3, "30");

        assertThat(orders("delta", "everything")).containsExactly("UPDATE 1 999.00", "DELETE 2 20.00", "INSERT 3 30.00");
    }

    @Test
    void changedUsersOutsideTheFilterNeverReachTheConsumer() {
        rule("first-ten", "users", "{\"columns\": [\"email\"], \"filter\": [{\"column\": \"id\", \"op\": \"<=\", \"value\": \"10\"}]}");
        insertUsers(1800);
        List<String[]> full = export("full", "first-ten");
        assertThat(full).hasSize(11);

        jdbc.update("UPDATE users SET email = 'changed-' || id || '@example.com' WHERE id IN (5, 1500, 1600, 1700)");
        jdbc.update("UPDATE users SET is_deleted = TRUE WHERE id = 3");
        jdbc.update("DELETE FROM users WHERE id IN (7, 1750)");

        List<String[]> delta = export("delta", "first-ten");
        assertThat(delta.stream().skip(1).map(r -> String.join(" ", r))).containsExactly(
                "DELETE 3 user3@example.com", "UPDATE 5 changed-5@example.com", "DELETE 7 user7@example.com");
    }

    @Test
    void changingARowFilterMakesTheNextExportStartOver() {
        rule("small", "app.orders", "{\"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"50\"}]}");
        order(1, "10");
        order(2, "100");
        orders("delta", "small");
        rule("small", "app.orders", "{\"columns\": [\"total\"], \"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"50\"}]}");
        total(1, "11");
        assertThat(orders("delta", "small")).as("columns changed, the filter did not: the window goes on")
                .containsExactly("UPDATE 1 11.00");

        rule("small", "app.orders", "{\"columns\": [\"total\"], \"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"500\"}]}");
        assertThat(orders("delta", "small")).as("a new filter: every row it lets through, as a first delta has them")
                .containsExactly("INSERT 1 11.00", "INSERT 2 100.00");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM cdc.held_rows WHERE consumer_id = 'small'", Long.class))
                .isEqualTo(2);

        api.send("DELETE", "/consumers/small/tables/app.orders", Map.of("Authorization", "Bearer " + ADMIN_TOKEN), null);
        total(1, "12");
        assertThat(orders("delta", "small")).as("no rule left: the whole table (every column), from scratch")
                .map(row -> row.substring(0, row.indexOf(" secret"))).containsExactly("INSERT 1", "INSERT 2");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM cdc.held_rows", Long.class))
                .as("a consumer without a filter keeps nothing there").isZero();
    }

    @Test
    void anExportReadUnderAFilterThatChangedMeanwhileDoesNotCommit() throws Exception {
        rule("small", "app.orders", "{\"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"50\"}]}");
        order(1, "10");
        String jobId;
        try (Connection blocker = openConnection(); Statement statement = blocker.createStatement()) {
            blocker.setAutoCommit(false);
            // The export stops where it stages what the consumer holds, after it has read its rows.
            statement.execute("LOCK TABLE cdc.held_rows_pending IN EXCLUSIVE MODE");
            Api.Response accepted = api.post("/exports/delta?table=app.orders", "small");
            jobId = accepted.field("jobId");
            awaitStatus(jobId, "running");
            sleep(500);
            rule("small", "app.orders", "{\"filter\": [{\"column\": \"total\", \"op\": \"<=\", \"value\": \"5\"}]}");
            blocker.commit();
        }
        assertThat(awaitJob(jobId)).isEqualTo("failed");
        assertThat(jobRow(jobId).get("error").toString()).contains("row filter", "changed during this export");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM cdc.watermarks WHERE consumer_id = 'small'", Long.class))
                .isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM cdc.held_rows_pending", Long.class)).isZero();
        assertThat(orders("delta", "small")).as("the retry reads under the new filter").isEmpty();
    }
}
