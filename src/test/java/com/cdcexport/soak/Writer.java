package com.cdcexport.soak;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;

/**
 * Changes users the way real applications do, on its own connection: single writes and small transactions,
 * writes that set updated_at and writes that forget it, soft deletes and restores, hard deletes, and long
 * transactions that stay open across exports before they commit or roll back. Counts committed row changes.
 */
final class Writer {

    /** Highest user id handed out so far, shared by all writers, to pick rows that probably exist. */
    private static final AtomicLong maxId = new AtomicLong();

    long changes;
    volatile Throwable failure;

    Writer(long initialUsers) {
        maxId.accumulateAndGet(initialUsers, Math::max);
    }

    void run(long deadline) {
        try (Connection connection = TestDatabase.connect()) {
            connection.setAutoCommit(false);
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (System.nanoTime() < deadline) {
                int pending = 0;
                try {
                    int operations = 1 + random.nextInt(4);
                    for (int i = 0; i < operations; i++) {
                        pending += change(connection, random);
                    }
                    boolean longTransaction = random.nextInt(100) < 6;
                    if (longTransaction) {
                        IntegrationTest.sleep(random.nextInt(500, 3_000));
                    }
                    if (longTransaction && random.nextInt(100) < 20) {
                        connection.rollback();
                    } else {
                        connection.commit();
                        changes += pending;
                    }
                } catch (SQLException conflict) {
                    // Unique email taken, deadlock, row gone: the transaction changed nothing.
                    connection.rollback();
                }
                IntegrationTest.sleep(random.nextInt(1, 20));
            }
        } catch (Throwable e) {
            failure = e;
        }
    }

    /** Highest order id handed out so far. */
    private static final AtomicLong maxOrder = new AtomicLong();

    /**
     * One transaction over two tables: an order and every one of its lines get the same new tag (insert, update,
     * or delete together), so an export that shows a line's tag without its order's is torn.
     */
    private static int orderChange(Connection connection, ThreadLocalRandom random) throws SQLException {
        String tag = UUID.randomUUID().toString();
        int kind = random.nextInt(100);
        if (kind < 40 || maxOrder.get() == 0) {
            long id = maxOrder.incrementAndGet();
            int lines = 1 + random.nextInt(3);
            execute(connection, "INSERT INTO app.orders (id, customer, status) VALUES (?, 'c', ?)", id, tag);
            for (int line = 1; line <= lines; line++) {
                execute(connection, "INSERT INTO app.order_lines (order_id, line_no, sku, qty) VALUES (?, ?, ?, 1)",
                        id, line, tag);
            }
            return 1 + lines;
        }
        long id = 1 + random.nextLong(maxOrder.get());
        if (kind < 85) {
            int orders = execute(connection, "UPDATE app.orders SET status = ? WHERE id = ?", tag, id);
            return orders == 0 ? 0 : orders + execute(connection,
                    "UPDATE app.order_lines SET sku = ?, qty = qty + 1 WHERE order_id = ?", tag, id);
        }
        return execute(connection, "DELETE FROM app.order_lines WHERE order_id = ?", id)
                + execute(connection, "DELETE FROM app.orders WHERE id = ?", id);
    }

    private static int execute(Connection connection, String sql, Object... parameters) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setObject(i + 1, parameters[i]);
            }
            return statement.executeUpdate();
        }
    }

    private static int change(Connection connection, ThreadLocalRandom random) throws SQLException {
        if (random.nextInt(100) < 30) {
            return orderChange(connection, random);
        }
        long id = 1 + random.nextLong(maxId.get());
        int kind = random.nextInt(100);
        if (kind < 25) {
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO users (name, email) VALUES (?, ?) RETURNING id")) {
                insert.setString(1, name(random));
                insert.setString(2, UUID.randomUUID() + "@example.com");
                try (var rs = insert.executeQuery()) {
                    rs.next();
                    maxId.accumulateAndGet(rs.getLong(1), Math::max);
                }
                return 1;
            }
        }
        String sql;
        if (kind < 50) {
            sql = "UPDATE users SET name = ?, updated_at = now() WHERE id = ?";
        } else if (kind < 65) {
            // A writer that forgets updated_at: the trigger must still make the change visible.
            sql = "UPDATE users SET email = ? || email WHERE id = ? AND length(email) < 200";
        } else if (kind < 77) {
            sql = "UPDATE users SET is_deleted = TRUE WHERE id = ? AND NOT is_deleted";
        } else if (kind < 89) {
            sql = "UPDATE users SET is_deleted = FALSE WHERE id = ? AND is_deleted";
        } else {
            sql = "DELETE FROM users WHERE id = ?";
        }
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            int index = 1;
            if (sql.contains("name = ?")) {
                statement.setString(index++, name(random));
            } else if (sql.contains("email = ?")) {
                statement.setString(index++, "x");
            }
            statement.setLong(index, id);
            return statement.executeUpdate();
        }
    }

    /** Names that exercise CSV quoting now and then. */
    private static String name(ThreadLocalRandom random) {
        String[] names = {"Ada", "Grace Hopper", "O'Brien, Pat", "The \"Boss\"", "Line\nbreak", "Zoë"};
        return names[random.nextInt(names.length)] + " " + random.nextInt(1_000);
    }
}
