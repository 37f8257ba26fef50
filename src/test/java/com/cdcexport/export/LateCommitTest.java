package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;

/**
 * The case timestamp CDC loses (docs/capture.md, "Late commits"): a change stamped before an export
 * but committed after it. Its updated_at is older than the watermark's, yet the next export must carry it.
 */
class LateCommitTest extends IntegrationTest {

    @Test
    void changeCommittedAfterAnExportIsInTheNextOne() throws Exception {
        long early = insertUser("Early", "early@example.com");
        long other = insertUser("Other", "other@example.com");
        export("full", "warehouse");

        try (Connection writer = openConnection()) {
            writer.setAutoCommit(false);
            try (Statement statement = writer.createStatement()) {
                statement.executeUpdate("UPDATE users SET name = 'Late' WHERE id = " + early);
            }
            sleep(20);
            jdbc.update("UPDATE users SET name = 'Other 2' WHERE id = ?", other);

            // The open transaction's change is invisible now; the later, committed one is exported and moves the
            // watermark's timestamp past the open transaction's updated_at.
            assertThat(column(export("incremental", "warehouse"), "name")).containsExactly("Other 2");
            assertThat(column(export("delta", "deltas"), "name")).contains("Early", "Other 2");

            writer.commit();
        }

        var incremental = export("incremental", "warehouse");
        assertThat(column(incremental, "name")).containsExactly("Late");
        assertThat(column(export("delta", "deltas"), "name")).containsExactly("Late");
        // The late row's timestamp is older than what the consumer already got: a timestamp watermark skips it.
        assertThat(column(incremental, "updated_at").get(0)).isLessThan(
                lastExportedAt("warehouse").replace("+00:00", "Z"));
    }

    @Test
    void rowsSharingOneTimestampAreNeitherLostNorResent() throws Exception {
        insertUsers(10_000);
        export("full", "warehouse");

        try (Connection writer = openConnection()) {
            writer.setAutoCommit(false);
            try (Statement statement = writer.createStatement()) {
                // One statement, one now(): 5,000 rows share one updated_at and commit before the export.
                statement.executeUpdate("UPDATE users SET name = name || '!' WHERE id <= 5000");
            }
            writer.commit();
            try (Statement statement = writer.createStatement()) {
                statement.executeUpdate("UPDATE users SET name = name || '?' WHERE id > 5000");
                // Another 5,000 share a second updated_at but stay uncommitted while the export runs, and so
                // commit with a timestamp older than the one the export sent.
                assertThat(export("incremental", "warehouse")).hasSize(5_001);
            }
            writer.commit();
        }

        var second = export("incremental", "warehouse");
        assertThat(second).hasSize(5_001);
        assertThat(column(second, "name")).allMatch(n -> n.endsWith("?"));
        assertThat(export("incremental", "warehouse")).as("nothing resent").hasSize(1);
    }
}
