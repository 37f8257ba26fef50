package com.cdcexport.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An application that keeps inserting into app.order_lines, one row per transaction with increasing order ids, while
 * a test moves capture under it: afterwards every row it wrote must have exactly one entry in the change log.
 */
public final class OrderLinesWriter implements AutoCloseable {

    private final AtomicBoolean writing = new AtomicBoolean(true);
    private final AtomicLong written = new AtomicLong();
    private final Thread thread;
    private volatile Exception failure;

    private OrderLinesWriter(String jdbcUrl) {
        thread = new Thread(() -> {
            try (Connection connection = DriverManager.getConnection(jdbcUrl);
                 Statement statement = connection.createStatement()) {
                while (writing.get()) {
                    statement.execute("INSERT INTO app.order_lines VALUES (" + (written.get() + 1) + ", 1, 's', 1)");
                    written.incrementAndGet();
                }
            } catch (Exception e) {
                failure = e;
            }
        }, "order-lines-writer");
        thread.start();
    }

    /** @param jdbcUrl a JDBC URL with its credentials */
    public static OrderLinesWriter start(String jdbcUrl) {
        return new OrderLinesWriter(jdbcUrl);
    }

    /** Waits until {@code rows} more rows are committed. */
    public void awaitMore(long rows) {
        long target = written.get() + rows;
        while (written.get() < target) {
            if (failure != null) {
                throw new IllegalStateException("the writer failed", failure);
            }
            IntegrationTest.sleep(5);
        }
    }

    /** Rows committed so far. */
    public long written() {
        return written.get();
    }

    @Override
    public void close() throws InterruptedException {
        writing.set(false);
        thread.join();
        if (failure != null) {
            throw new IllegalStateException("the writer failed", failure);
        }
    }
}
