package com.cdcexport.support;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Tests of the packaged jar as separate processes on a table large enough that an export runs for a while:
 * long enough to kill, stop or take over an instance in its middle.
 */
public abstract class LargeTableProcessTest {

    protected static final int USERS = 600_000;
    protected static final JdbcTemplate jdbc = TestDatabase.jdbc();

    @TempDir
    protected Path output;

    @BeforeAll
    static void largeTable() {
        TestDatabase.resetWithUsers(USERS);
    }

    /** A job a failed test left queued or running would otherwise be run by the next test's instances. */
    @BeforeEach
    void noJobOfAnEarlierTestIsLeft() {
        jdbc.update("UPDATE export_jobs SET status = 'cancelled', finished_at = now(), error = 'Left by an earlier "
                + "test' WHERE status IN ('queued', 'running')");
    }
}
