package com.cdcexport.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.export.tables.TableAccessTest;
import com.cdcexport.support.IntegrationTest;

/** The consumer's page lists its Iceberg tables with what their current snapshot holds. */
@TestPropertySource(properties = "cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN)
class ConsoleIcebergTest extends IntegrationTest {

    @Test
    void theConsumersPageListsItsIcebergTablesWithRecordsSnapshotsAndFiles() {
        jdbc.update("INSERT INTO consumers (id, created_at) VALUES ('lake', now()) ON CONFLICT (id) DO NOTHING");
        jdbc.update("INSERT INTO app.orders (id, customer, total) SELECT g, 'c' || g, g FROM generate_series(1, 3) g");
        runExport("full", "lake", "iceberg", "app.orders");
        ConsoleClient console = new ConsoleClient(port, null);
        console.signIn(TableAccessTest.ADMIN_TOKEN);

        HttpResponse<String> page = console.get("/console/consumers/lake");

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Iceberg tables").contains("lake.app_orders").contains("app.orders")
                .containsPattern("<td>3</td>\\s*<td>1</td>\\s*<td>1</td>\\s*<td>0</td>\\s*<td>not yet</td>");
    }
}
