package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.support.IntegrationTest;

class ChangePrunerTest extends IntegrationTest {

    @Autowired
    ChangePruner pruner;

    private long logEntries() {
        return jdbc.queryForObject("SELECT count(*) FROM change_log", Long.class);
    }

    @Test
    void aDeleteIsKeptUntilEveryConsumerHasExportedIt() {
        long ada = insertUser("Ada", "ada@example.com");
        export("full", "fast");
        export("full", "slow");
        pruner.prune();
        jdbc.update("DELETE FROM users WHERE id = ?", ada);

        assertThat(column(export("delta", "fast"), "operation")).containsExactly("DELETE");
        assertThat(pruner.prune()).as("slow has not seen the delete yet").isZero();

        assertThat(column(export("delta", "slow"), "operation")).containsExactly("DELETE");
        assertThat(pruner.prune()).isEqualTo(1);
        assertThat(logEntries()).isZero();
        assertThat(export("delta", "slow")).as("nothing resent after pruning").hasSize(1);
    }

    @Test
    void withoutAnyWatermarkTheLogIsPrunedAndAFirstDeltaReadsTheTable() {
        long ada = insertUser("Ada", "ada@example.com");
        insertUser("Bob", "bob@example.com");
        jdbc.update("DELETE FROM users WHERE id = ?", ada);

        assertThat(pruner.prune()).as("a first export reads the table, not the log").isEqualTo(3);
        assertThat(column(export("delta", "newcomer"), "name")).containsExactly("Bob");
    }

    @Test
    void entriesStayWhileAFirstExportOfTheTableRuns() {
        insertUser("Ada", "ada@example.com");
        jdbc.update("INSERT INTO export_jobs (id, consumer_id, export_type, status, output_filename, instance_id,"
                + " heartbeat_at, created_at) VALUES (gen_random_uuid(), 'first', 'full', 'running', 'x.csv', 'elsewhere',"
                + " now(), now())");

        assertThat(pruner.prune()).as("its snapshot will become a watermark the log must still serve").isZero();
        jdbc.update("DELETE FROM export_jobs");
        assertThat(pruner.prune()).isEqualTo(1);
    }
}
