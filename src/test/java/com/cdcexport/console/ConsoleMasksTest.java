package com.cdcexport.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.export.tables.TableAccessTest;
import com.cdcexport.support.IntegrationTest;

/** The consumer's page says which columns it receives masked, and how. */
@TestPropertySource(properties = {"cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN,
        "cdc.masking.key=console-masks-test-key-4e1a9c7b3d5f2a8c6e0b"})
class ConsoleMasksTest extends IntegrationTest {

    @Test
    void theConsumersPageListsItsMaskedColumns() {
        jdbc.update("INSERT INTO consumers (id, created_at) VALUES ('masked', now()) ON CONFLICT (id) DO NOTHING");
        assertThat(api.send("PUT", "/consumers/masked/tables/app.orders",
                Map.of("Authorization", "Bearer " + TableAccessTest.ADMIN_TOKEN),
                "{\"columns\": [\"customer\", \"total\"], \"masks\": {\"customer\": \"hmac-sha256\"}}").status())
                .isEqualTo(200);
        ConsoleClient console = new ConsoleClient(port, null);
        console.signIn(TableAccessTest.ADMIN_TOKEN);

        HttpResponse<String> page = console.get("/console/consumers/masked");

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("customer, total; masked: customer (hmac-sha256)");
    }
}
