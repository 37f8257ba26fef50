package com.cdcexport.support;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
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
}
