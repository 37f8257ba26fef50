package com.cdcexport.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;

import org.junit.jupiter.api.Test;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.export.tables.TableAccessTest;
import com.cdcexport.support.IntegrationTest;

/** The consumer's page lists its Iceberg tables with what their current snapshot holds and their last upkeep. */
@TestPropertySource(properties = "cdc.auth.admin-token=" + TableAccessTest.ADMIN_TOKEN)
class ConsoleIcebergTest extends IntegrationTest {

    @Test
    void theConsumersPageListsItsIcebergTablesWithRecordsSnapshotsFilesAndLastRewrite() {
        jdbc.update("INSERT INTO consumers (id, created_at) VALUES ('lake', now()) ON CONFLICT (id) DO NOTHING");
        jdbc.update("INSERT INTO app.orders (id, customer, total) SELECT g, 'c' || g, g FROM generate_series(1, 3) g");
        runExport("full", "lake", "iceberg", "app.orders");
        ConsoleClient console = new ConsoleClient(port, null);
        console.signIn(TableAccessTest.ADMIN_TOKEN);

        HttpResponse<String> page = console.get("/console/consumers/lake");

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Iceberg tables").contains("lake.app_orders").contains("app.orders")
                .containsPattern("<td>3</td>\\s*<td>1</td>\\s*<td>1</td>\\s*<td>0</td>\\s*<td>not yet</td>"
                        + "\\s*<td>not yet</td>");

        // as upkeep records a rewrite (IcebergCompactionTest makes real ones)
        jdbc.update("INSERT INTO iceberg_upkeep (table_namespace, table_name, finished_at, expired_snapshots, "
                + "removed_files, rewritten_at, rewritten_data_files, rewritten_delete_files, rewrite_data_files) "
                + "VALUES ('lake', 'app_orders', now(), 2, 1, now(), 9, 8, 1)");
        assertThat(console.get("/console/consumers/lake").body())
                .contains("(2 snapshots expired, 1 orphan files removed)")
                .contains("(9 data and 8 delete files into 1)");
    }
}
