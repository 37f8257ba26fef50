package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/**
 * An installation from before the service had its own schema (everything in public, a change_xid column and a
 * tombstone table on users) upgrades in place: watermarks, jobs and keys survive, changes made after the last
 * export are still delivered, and users gets its original shape back.
 */
class EarlierLayoutIT {

    @Test
    void anEarlierInstallationMovesIntoItsSchemaWithoutLosingWatermarksJobsKeysOrChanges() throws IOException {
        String url = TestDatabase.scratchDatabase("earlier");
        try {
            JdbcTemplate db = TestDatabase.jdbc(url);
            try (InputStream sql = getClass().getResourceAsStream("/legacy/earlier-layout.sql")) {
                db.execute(new String(sql.readAllBytes(), StandardCharsets.UTF_8));
            }
            db.update("INSERT INTO users (name, email) VALUES ('Ada', 'ada@x.org'), ('Bob', 'bob@x.org'), "
                    + "('Cy', 'cy@x.org')");
            db.update("INSERT INTO consumers VALUES ('warehouse', now())");
            db.update("INSERT INTO api_keys VALUES ('key_1', 'warehouse', '\\x01'::bytea, 'api', now(), NULL, NULL)");
            db.update("INSERT INTO watermarks (consumer_id, last_exported_at, updated_at, snapshot)"
                    + " VALUES ('warehouse', now(), now(), pg_current_snapshot())");
            db.update("INSERT INTO export_jobs (id, consumer_id, export_type, status, output_filename, instance_id,"
                    + " heartbeat_at, created_at, attempts, rows_exported) VALUES (gen_random_uuid(), 'warehouse',"
                    + " 'full', 'completed', 'full_warehouse_20260101T000000Z.csv', 'old', now(), now(), 1, 3)");
            // Changes the consumer has not been sent yet.
            db.update("UPDATE users SET name = 'Bobby' WHERE email = 'bob@x.org'");
            db.update("DELETE FROM users WHERE email = 'cy@x.org'");
            Path output = Files.createTempDirectory("cdc-earlier");

            try (ServiceProcess service = ServiceProcess.start(Map.of("DATABASE_URL", url,
                    "EXPORT_OUTPUT_DIR", output.toString()))) {
                assertThat(db.queryForList("SELECT table_name FROM information_schema.tables"
                        + " WHERE table_schema = 'public'", String.class)).containsExactly("users");
                assertThat(db.queryForList("SELECT column_name FROM information_schema.columns WHERE table_schema ="
                        + " 'public' AND table_name = 'users' ORDER BY ordinal_position", String.class))
                        .containsExactly("id", "name", "email", "created_at", "updated_at", "is_deleted");
                assertThat(db.queryForObject("SELECT count(*) FROM cdc.api_keys", Long.class)).isEqualTo(1);
                assertThat(db.queryForObject("SELECT files->0->>'filename' FROM cdc.export_jobs", String.class))
                        .isEqualTo("full_warehouse_20260101T000000Z.csv");

                Api api = service.api();
                assertThat(api.get("/exports/watermark", "warehouse").status()).isEqualTo(200);
                Api.Response delta = api.post("/exports/delta", "warehouse");
                assertThat(delta.status()).as(delta.body()).isEqualTo(202);
                for (int i = 0; i < 300 && !"completed".equals(db.queryForObject(
                        "SELECT status FROM cdc.export_jobs WHERE id = ?::uuid", String.class, delta.field("jobId")));
                     i++) {
                    IntegrationTest.sleep(100);
                }
                assertThat(IntegrationTest.readCsv(output.resolve(delta.field("outputFilename"))).stream()
                        .skip(1).map(r -> r[0] + " " + r[2] + " " + r[6]))
                        .containsExactly("UPDATE Bobby false", "DELETE Cy true");
            }
        } finally {
            TestDatabase.dropScratchDatabase(url);
        }
    }
}
