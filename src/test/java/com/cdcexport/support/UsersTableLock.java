package com.cdcexport.support;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * An ACCESS EXCLUSIVE lock on users, held by a connection of its own: an export started meanwhile blocks on its
 * first read of the table, which keeps it running (and its consumer busy) for as long as a test needs.
 */
public final class UsersTableLock implements AutoCloseable {

    private final Connection connection;

    private UsersTableLock(Connection connection) {
        this.connection = connection;
    }

    public static UsersTableLock acquire() throws SQLException {
        Connection connection = TestDatabase.connect();
        connection.setAutoCommit(false);
        try (Statement statement = connection.createStatement()) {
            statement.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
        }
        return new UsersTableLock(connection);
    }

    /** The locking connection, for statements a test must run outside the service (it holds the lock). */
    public Connection connection() {
        return connection;
    }

    /** Lets blocked exports go on. */
    public void release() throws SQLException {
        connection.rollback();
    }

    @Override
    public void close() throws SQLException {
        connection.rollback();
        connection.close();
    }
}
