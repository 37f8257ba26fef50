package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.support.IntegrationTest;

class TombstonePrunerTest extends IntegrationTest {

    @Autowired
    TombstonePruner pruner;

    @Test
    void tombstoneIsKeptUntilEveryConsumerHasExportedIt() {
        long ada = insertUser("Ada", "ada@example.com");
        export("full", "fast");
        export("full", "slow");
        jdbc.update("DELETE FROM users WHERE id = ?", ada);

        assertThat(column(export("delta", "fast"), "operation")).containsExactly("DELETE");
        assertThat(pruner.prune()).as("slow has not seen the delete yet").isZero();

        assertThat(column(export("delta", "slow"), "operation")).containsExactly("DELETE");
        assertThat(pruner.prune()).isEqualTo(1);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM user_tombstones", Long.class)).isZero();
        assertThat(export("delta", "slow")).as("nothing resent after pruning").hasSize(1);
    }

    @Test
    void withoutAnyWatermarkNothingIsPruned() {
        long ada = insertUser("Ada", "ada@example.com");
        jdbc.update("DELETE FROM users WHERE id = ?", ada);

        assertThat(pruner.prune()).isZero();
        assertThat(column(export("delta", "newcomer"), "operation")).containsExactly("DELETE");
    }
}
