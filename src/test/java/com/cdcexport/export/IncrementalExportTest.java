package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;

class IncrementalExportTest extends IntegrationTest {

    @Test
    void incrementalExportContainsOnlyRowsChangedSinceLastExport() {
        long ada = insertUser("Ada", "ada@example.com");
        insertUser("Bob", "bob@example.com");
        export("full", "warehouse");

        jdbc.update("UPDATE users SET name = 'Ada Lovelace', updated_at = now() WHERE id = ?", ada);
        long cid = insertUser("Cid", "cid@example.com");

        List<String[]> rows = export("incremental", "warehouse");

        assertThat(column(rows, "id")).containsExactly(String.valueOf(ada), String.valueOf(cid));
        assertThat(column(rows, "name")).containsExactly("Ada Lovelace", "Cid");
        assertThat(export("incremental", "warehouse")).as("nothing changed since").hasSize(1);
    }

    @Test
    void incrementalExportSkipsDeletedRows() {
        long ada = insertUser("Ada", "ada@example.com");
        long bob = insertUser("Bob", "bob@example.com");
        export("full", "warehouse");

        jdbc.update("UPDATE users SET is_deleted = TRUE WHERE id = ?", ada);
        jdbc.update("UPDATE users SET name = 'Bobby' WHERE id = ?", bob);

        assertThat(column(export("incremental", "warehouse"), "id")).containsExactly(String.valueOf(bob));
    }

    @Test
    void incrementalWithoutWatermarkExportsAllLiveRows() {
        insertUser("Ada", "ada@example.com");
        insertUser("Gone", "gone@example.com", Instant.now(), Instant.now(), true);

        assertThat(column(export("incremental", "newcomer"), "name")).containsExactly("Ada");
    }

    @Test
    void updateThatDoesNotTouchUpdatedAtIsExportedWithFreshUpdatedAt() {
        Instant old = Instant.parse("2026-01-01T00:00:00Z");
        long ada = insertUser("Ada", "ada@example.com", old, old, false);
        export("full", "warehouse");

        jdbc.update("UPDATE users SET email = 'ada@lovelace.org' WHERE id = ?", ada);

        List<String[]> rows = export("incremental", "warehouse");
        assertThat(column(rows, "email")).containsExactly("ada@lovelace.org");
        assertThat(Instant.parse(column(rows, "updated_at").get(0))).isAfter(old);
    }

    @Test
    void watermarkTimestampNeverMovesBackwards() {
        Instant late = Instant.parse("2026-03-01T00:00:00Z");
        Instant early = Instant.parse("2026-01-01T00:00:00Z");
        insertUser("Ada", "ada@example.com", late, late, false);
        export("full", "warehouse");

        // A writer that stamps an older time explicitly: exported, but the watermark's timestamp stays.
        insertUser("Bob", "bob@example.com", early, early, false);
        assertThat(column(export("incremental", "warehouse"), "name")).containsExactly("Bob");

        assertThat(lastExportedAt("warehouse")).isEqualTo("2026-03-01T00:00:00.000000+00:00");
    }
}
