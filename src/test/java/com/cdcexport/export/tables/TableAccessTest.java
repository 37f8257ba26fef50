package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/** The admin keeps columns and rows from a consumer that does not need them. */
@TestPropertySource(properties = "cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN)
public class TableAccessTest extends IntegrationTest {

    public static final String ADMIN_TOKEN = "table-access-admin-token-4b1f8e2a9c7d3e5f6a0b";

    private Api.Response rule(String consumer, String table, String json) {
        return api.send("PUT", "/consumers/" + consumer + "/tables/" + table,
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN), json);
    }

    private List<String[]> exportOrders(String type, String consumer) {
        Api.Response accepted = api.post("/exports/" + type + "?table=app.orders", consumer);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        assertThat(awaitJob(accepted.field("jobId"))).as("%s", jobRow(accepted.field("jobId"))).isEqualTo("completed");
        return readCsv(accepted.field("outputFilename"));
    }

    private void order(long id, String customer, String status) {
        jdbc.update("INSERT INTO app.orders (id, customer, total, status) VALUES (?, ?, 1, ?)", id, customer, status);
    }

    @Test
    void aConsumerRestrictedToColumnsAndRowsSeesOnlyThose() {
        order(1, "Ada", "paid");
        order(2, "Bob", "new");
        assertThat(rule("analytics", "app.orders",
                "{\"columns\": [\"total\", \"status\"], \"filter\": [{\"column\": \"status\", \"op\": \"=\", \"value\": \"paid\"}]}")
                .status()).isEqualTo(200);

        List<String[]> rows = exportOrders("full", "analytics");

        assertThat(rows.get(0)).as("the key always, then the allowed columns").containsExactly("id", "total", "status");
        assertThat(column(rows, "id")).containsExactly("1");
        assertThat(api.post("/exports/full", "analytics").status()).as("only tables it has rules for").isEqualTo(403);
        assertThat(exportOrders("full", "other")).as("consumers without rules see everything").hasSize(3);
    }

    @Test
    void aRowThatLeavesTheFilterReachesTheConsumerAsADelete() {
        order(1, "Ada", "paid");
        order(2, "Bob", "paid");
        rule("analytics", "app.orders", "{\"filter\": [{\"column\": \"status\", \"op\": \"in\", \"values\": [\"paid\", \"shipped\"]}]}");
        exportOrders("full", "analytics");
        jdbc.update("UPDATE app.orders SET status = 'refunded' WHERE id = 1");
        jdbc.update("UPDATE app.orders SET status = 'shipped' WHERE id = 2");

        List<String[]> delta = exportOrders("delta", "analytics");

        assertThat(delta.stream().skip(1).map(r -> r[0] + " " + r[1])).containsExactly("DELETE 1", "UPDATE 2");
    }

    @Test
    void filterValuesAreDataNeverSql() {
        order(1, "Ada", "paid");
        assertThat(rule("sneaky", "app.orders",
                "{\"filter\": [{\"column\": \"customer\", \"op\": \"=\", \"value\": \"x' OR '1'='1\"}]}").status())
                .isEqualTo(200);
        assertThat(exportOrders("full", "sneaky")).as("the quote is part of the value").hasSize(1);
    }

    @Test
    void badRulesAreRefusedWithProblemDetails() {
        for (String body : List.of(
                "{\"columns\": [\"no_such_column\"]}",
                "{\"filter\": [{\"column\": \"id\", \"op\": \"=\", \"value\": \"not a number\"}]}",
                "{\"filter\": [{\"column\": \"id\", \"op\": \"like\", \"value\": \"1\"}]}",
                "{\"filter\": [{\"column\": \"id\", \"op\": \"in\"}]}",
                "{\"filter\": [{\"column\": \"id) OR (1=1\", \"op\": \"=\", \"value\": \"1\"}]}")) {
            Api.Response response = rule("analytics", "app.orders", body);
            assertThat(response.status()).as(body).isEqualTo(400);
            assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        }
        assertThat(rule("analytics", "app.nowhere", "{}").status()).isEqualTo(404);
        assertThat(api.send("PUT", "/consumers/analytics/tables/app.orders", Map.of(), "{}").status())
                .as("rules are the admin's").isEqualTo(401);
        assertThat(api.send("GET", "/consumers/analytics/tables", Map.of("Authorization", "Bearer " + ADMIN_TOKEN),
                null).body()).isEqualTo("[]");
    }
}
