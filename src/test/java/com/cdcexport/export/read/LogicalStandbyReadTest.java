package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.util.List;
import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.export.read.ReadStart.ReplayBracket;
import com.cdcexport.support.TestDatabase;

/**
 * Which source transactions of a table in log-based capture a standby's snapshot sees, told from where their
 * commit records lie against the replay positions read just before and just after the snapshot was taken
 * (docs/capture.md, "Log-based capture on a standby"). Entries of a table that exists nowhere, on a real PostgreSQL.
 */
class LogicalStandbyReadTest {

    private static final long TABLE = 4_000_000_001L;
    /** Replay stood at 0/2000 before the snapshot, at 0/2500 after it. */
    private static final ReplayBracket REPLAY = new ReplayBracket(0x2000, 0x2500);

    private final JdbcTemplate jdbc = TestDatabase.jdbc();

    @BeforeEach
    @AfterEach
    void noEntriesOfTheTable() {
        jdbc.update("DELETE FROM cdc.change_log WHERE table_oid = ?::oid", TABLE);
    }

    @Test
    void aCommitReplayedBeforeTheSnapshotIsSeenOneReplayedAfterItIsNot() throws Exception {
        entry(100, "0/1F00", "0/2000");   // ended where replay stood before: seen
        entry(101, "0/2529", "0/2600");   // began past the record being replayed and its page header: not seen
        entry(102, "0/2100", "0/2200");   // in doubt, but S sees its entries itself
        entry(103, null, null);           // written by a trigger: S's own entries tell
        entry(900, "0/1000", "0/1100");   // past xmax: not in the range asked
        assertThat(finished(List.of(102L))).containsExactly(100L);
    }

    @Test
    void aCommitReplayedWhileTheSnapshotWasTakenMakesItUncertain() {
        entry(104, "0/2400", "0/2600");   // being replayed as replay was read after the snapshot
        assertThatThrownBy(() -> finished(List.of())).isInstanceOf(LogicalStandbyRead.UncertainSnapshotException.class)
                .hasMessageContaining("104");
    }

    @Test
    void aCommitRightAfterAPageHeaderIsInDoubtToo() {
        // Replay stood at the end of a page; the next record began after the 40 bytes of a long page header.
        entry(105, "0/2528", "0/2600");
        assertThatThrownBy(() -> finished(List.of())).isInstanceOf(LogicalStandbyRead.UncertainSnapshotException.class);
    }

    @Test
    void aCommitEndingBetweenTheTwoReadsIsInDoubt() {
        entry(106, "0/2000", "0/2080");
        assertThatThrownBy(() -> finished(List.of())).isInstanceOf(LogicalStandbyRead.UncertainSnapshotException.class);
    }

    private List<Long> finished(List<Long> seenInS) throws Exception {
        DataSource dataSource = jdbc.getDataSource();
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false); // as LogicalStandbyRead.open leaves it
            LogicalStandbyRead read = new LogicalStandbyRead(dataSource, connection, TestDatabase.SCHEMA);
            return read.finished(List.of(TABLE), 100, 200, REPLAY, seenInS);
        }
    }

    private void entry(long xid, String commit, String end) {
        jdbc.update("INSERT INTO cdc.change_log (table_oid, change_xid, op, key, commit_lsn, commit_end_lsn) "
                + "VALUES (?::oid, ?::text::xid8, 'I', '[1]', ?::pg_lsn, ?::pg_lsn)", TABLE, Long.toString(xid), commit,
                end);
    }
}
