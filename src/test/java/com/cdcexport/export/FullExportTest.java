package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

class FullExportTest extends IntegrationTest {

    private static final Instant T1 = Instant.parse("2026-02-20T10:00:00.123456Z");
    private static final Instant T2 = Instant.parse("2026-02-21T11:30:00.654321Z");
    private static final Instant T3 = Instant.parse("2026-02-22T12:00:00Z");

    @Test
    void fullExportWritesAllLiveUsersOrderedByIdWithSeedColumns() {
        insertUser("Ada", "ada@example.com", T1, T1, false);
        insertUser("Bob", "bob@example.com", T1, T2, false);
        insertUser("Gone", "gone@example.com", T1, T3, true);

        List<String[]> rows = export("full", "warehouse");

        assertThat(rows).hasSize(3);
        assertThat(rows.get(0)).containsExactly("id", "name", "email", "created_at", "updated_at", "is_deleted");
        assertThat(rows.get(1)).containsExactly("1", "Ada", "ada@example.com",
                "2026-02-20T10:00:00.123456Z", "2026-02-20T10:00:00.123456Z", "false");
        assertThat(rows.get(2)).containsExactly("2", "Bob", "bob@example.com",
                "2026-02-20T10:00:00.123456Z", "2026-02-21T11:30:00.654321Z", "false");
    }

    @Test
    void fullExportMovesWatermarkToGreatestExportedUpdatedAt() {
        insertUser("Ada", "ada@example.com", T1, T2, false);
        // Deleted rows are not exported, so their later timestamp must not count.
        insertUser("Gone", "gone@example.com", T1, T3, true);

        export("full", "warehouse");

        assertThat(lastExportedAt("warehouse")).isEqualTo("2026-02-21T11:30:00.654321+00:00");
    }

    @Test
    void acceptedResponseFollowsTheSeedContract() {
        Api.Response response = startExport("full", "consumer-1");

        assertThat(response.header("Content-Type")).startsWith("application/json");
        assertThat(response.field("jobId")).matches("[0-9a-f-]{36}");
        assertThat(response.field("status")).isEqualTo("started");
        assertThat(response.field("exportType")).isEqualTo("full");
        assertThat(response.field("outputFilename")).matches("full_consumer-1_\\d{8}T\\d{6}Z\\.csv");
        awaitJob(response.field("jobId"));
    }

    @Test
    void exportOfEmptyTableWritesHeaderOnlyFile() {
        List<String[]> rows = export("full", "warehouse");

        assertThat(rows).hasSize(1);
        assertThat(rows.get(0)).containsExactly("id", "name", "email", "created_at", "updated_at", "is_deleted");
        // Nothing exported yet: the informational timestamp starts at the epoch.
        assertThat(lastExportedAt("warehouse")).isEqualTo("1970-01-01T00:00:00.000000+00:00");
    }

    @Test
    void fullExportIgnoresPreviousWatermark() {
        insertUser("Ada", "ada@example.com");
        export("full", "warehouse");

        assertThat(export("full", "warehouse")).hasSize(2);
    }
}
