package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The exact text of a standby's snapshot: finished exactly the xids whose entries it saw (and those below xmin),
 * everything else between running.
 */
class StandbySnapshotTest {

    @Test
    void everyXidBetweenWhoseEntriesWereNotSeenIsRunning() {
        assertThat(StandbySnapshot.of(884, 966, List.of(884L, 885L, 887L, 890L)).text())
                .as("xmin up to the first unseen, xmax down to past the last seen").isEqualTo("886:891:886,888,889");
    }

    @Test
    void withNoEntryInTheRangeNothingAboveXminIsFinished() {
        assertThat(StandbySnapshot.of(884, 966, List.of()).text()).isEqualTo("884:884:");
    }

    @Test
    void withEveryXidOfTheRangeSeenNoneIsRunning() {
        assertThat(StandbySnapshot.of(10, 13, List.of(10L, 11L, 12L)).text()).isEqualTo("13:13:");
    }

    @Test
    void aRangeTooLongToWriteDownIsRefusedWithTheReason() {
        assertThatThrownBy(() -> StandbySnapshot.of(1, 3_000_000, List.of(2_999_999L)))
                .hasMessageContaining("oldest one still running");
    }
}
