package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/** Without MASKING_KEY, hmac-sha256 masks are refused, never exported unmasked; null masks need no key. */
@TestPropertySource(properties = "cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN)
class MaskingWithoutKeyTest extends IntegrationTest {

    private static final Map<String, String> ADMIN = Map.of("Authorization", "Bearer " + TableAccessTest.ADMIN_TOKEN);

    @Test
    void anHmacMaskIsRefusedWithAConflictNamingTheSetting() {
        Api.Response refused = api.send("PUT", "/consumers/analytics/tables/app.orders", ADMIN,
                "{\"masks\": {\"customer\": \"hmac-sha256\"}}");
        Api.Response nulled = api.send("PUT", "/consumers/analytics/tables/app.orders", ADMIN,
                "{\"masks\": {\"customer\": \"null\"}}");

        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.header("Content-Type")).startsWith("application/problem+json");
        assertThat(refused.field("detail")).contains("MASKING_KEY").contains("app.orders");
        assertThat(nulled.status()).as("null masks need no key").isEqualTo(200);
        jdbc.update("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        List<String[]> rows = readCsv(runExport("full", "analytics", "csv", "app.orders").field("outputFilename"));
        assertThat(column(rows, "customer")).containsExactly("");
    }

    /** A rule set while the service had a key, and the key gone since (a restart without it). */
    @Test
    void anExportOfAnHmacRuleWithoutTheKeyIsRefusedBeforeItIsQueued() {
        jdbc.update("INSERT INTO app.orders (id, customer) VALUES (1, 'Ada')");
        jdbc.update("INSERT INTO consumer_tables (consumer_id, table_name, masks, updated_at) VALUES "
                + "('analytics', 'app.orders', '{\"customer\": \"hmac-sha256\"}', now())");

        Api.Response refused = api.post("/exports/full?table=app.orders", "analytics");

        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.field("detail")).contains("MASKING_KEY");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs", Long.class)).isZero();
    }
}
