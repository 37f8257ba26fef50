package com.cdcexport.export.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/** The manifest: present means every file it lists is complete and is what it says (size, SHA-256, rows). */
class ManifestTest extends IntegrationTest {

    @Test
    void aMultiTableExportHasOneManifestListingEveryFileWithItsRowsBytesAndChecksum() throws Exception {
        insertUsers(25);
        jdbc.update("INSERT INTO app.orders (id, customer, total) SELECT g, 'c' || g, g FROM generate_series(1, 7) g");
        jdbc.update("INSERT INTO app.order_lines SELECT 1, g, 's', g FROM generate_series(1, 3) g");

        Api.Response accepted = runExport("full", "manifested", "csv.gz", "users", "app.orders",
                "app.order_lines");
        Api.Response served = api.get("/exports/jobs/" + accepted.field("jobId") + "/manifest", "manifested");
        JsonNode manifest = served.json();
        JsonNode job = api.get("/exports/jobs/" + accepted.field("jobId"), "manifested").json();

        String name = accepted.field("manifestFilename");
        assertThat(name).isEqualTo(accepted.field("outputFilename").replace(".csv.gz", ".manifest.json"));
        assertThat(job.get("manifestFilename").asString()).isEqualTo(name);
        assertThat(served.header("Content-Type")).startsWith("application/json");
        assertThat(Files.readAllBytes(OUTPUT_DIR.resolve(name)))
                .isEqualTo(served.body().getBytes(StandardCharsets.UTF_8));
        assertThat(manifest.get("jobId").asString()).isEqualTo(accepted.field("jobId"));
        assertThat(manifest.get("consumerId").asString()).isEqualTo("manifested");
        assertThat(manifest.get("exportType").asString()).isEqualTo("full");
        assertThat(manifest.get("format").asString()).isEqualTo("csv.gz");
        assertThat(manifest.get("service").get("version").asString()).isNotBlank().isNotEqualTo("unknown");
        assertThat(texts(manifest.get("tables"))).containsExactly("public.users", "app.orders", "app.order_lines");
        assertThat(manifest.get("startedAt").asString()).isEqualTo(job.get("startedAt").asString());
        assertThat(manifest.get("finishedAt").asString()).isNotBlank();
        Map<String, Long> rows = Map.of("public.users", 25L, "app.orders", 7L, "app.order_lines", 3L);
        assertThat(manifest.get("files")).hasSize(3);
        for (JsonNode file : manifest.get("files")) {
            Path stored = OUTPUT_DIR.resolve(file.get("name").asString());
            assertThat(file.get("bytes").asLong()).isEqualTo(Files.size(stored));
            assertThat(file.get("sha256").asString()).isEqualTo(sha256(stored));
            assertThat(file.get("rows").asLong()).isEqualTo(rows.get(file.get("table").asString()));
            assertThat(file.get("snapshot").asString()).isEqualTo(manifest.get("snapshot").asString());
            assertThat(file.has("previousSnapshot")).as("a full export continues from nothing").isFalse();
            assertThat(file.has("operations")).isFalse();
        }
        assertThat(columns(manifest.get("files").get(0))).containsExactly("id bigint",
                "name character varying(255)", "email character varying(255)", "created_at timestamp with time zone",
                "updated_at timestamp with time zone", "is_deleted boolean");
        assertThat(columns(manifest.get("files").get(1))).contains("total numeric(12,2)");
    }

    @Test
    void aDeltaManifestCountsRowsByOperationAndContinuesFromThePreviousSnapshot() throws Exception {
        jdbc.update("INSERT INTO app.orders (id, customer) SELECT g, 'c' || g FROM generate_series(1, 5) g");
        Api.Response full = runExport("full", "counted", "csv", "app.orders");
        jdbc.update("INSERT INTO app.orders (id, customer) VALUES (10, 'new'), (11, 'new')");
        jdbc.update("UPDATE app.orders SET status = 'paid' WHERE id IN (1, 2, 3)");
        jdbc.update("DELETE FROM app.orders WHERE id = 5");

        Api.Response delta = runExport("delta", "counted", "jsonl", "app.orders");
        JsonNode manifest = api.get("/exports/jobs/" + delta.field("jobId") + "/manifest", "counted").json();
        JsonNode previous = api.get("/exports/jobs/" + full.field("jobId") + "/manifest", "counted").json();

        JsonNode file = manifest.get("files").get(0);
        assertThat(file.get("operations").get("INSERT").asLong()).isEqualTo(2);
        assertThat(file.get("operations").get("UPDATE").asLong()).isEqualTo(3);
        assertThat(file.get("operations").get("DELETE").asLong()).isEqualTo(1);
        assertThat(file.get("rows").asLong()).isEqualTo(6);
        List<String> lines = Files.readAllLines(OUTPUT_DIR.resolve(file.get("name").asString()));
        assertThat(lines).hasSize(6);
        assertThat(lines.stream().filter(l -> l.startsWith("{\"operation\":\"UPDATE\"")).count()).isEqualTo(3);
        assertThat(columns(file).get(0)).isEqualTo("operation text");
        assertThat(file.get("previousSnapshot").asString())
                .isEqualTo(previous.get("files").get(0).get("snapshot").asString());
    }

    @Test
    void theManifestOfAJobThatIsNotCompletedIsNotServed() throws Exception {
        Api.Response missing = api.get("/exports/jobs/00000000-0000-0000-0000-000000000000/manifest", "nobody");

        assertThat(missing.status()).isEqualTo(404);
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(n -> texts.add(n.asString()));
        return texts;
    }

    private static List<String> columns(JsonNode file) {
        List<String> columns = new ArrayList<>();
        file.get("columns").forEach(c -> columns.add(c.get("name").asString() + " " + c.get("type").asString()));
        return columns;
    }

    /** Computed here from the stored file, independently of the service's streaming digest. */
    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
