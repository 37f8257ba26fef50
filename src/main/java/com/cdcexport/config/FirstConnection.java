package com.cdcexport.config;

import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.util.PSQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to DATABASE_URL before the pool is made, so that start-up fails in seconds with a line that says
 * what to fix. The pool would retry every error for its initialization timeout (30 s), though a wrong password or a
 * missing database never heals; only a server that is not (yet) accepting connections is worth waiting for, briefly.
 */
final class FirstConnection {

    private static final Logger log = LoggerFactory.getLogger(FirstConnection.class);

    /** How long a refused connection, an unknown host or a server still starting up is retried. */
    static final Duration RETRY_FOR = Duration.ofSeconds(5);
    private static final int CONNECT_TIMEOUT_SECONDS = 5;

    private FirstConnection() {
    }

    static void check(DatabaseUrl url) {
        Properties properties = new Properties();
        PGProperty.CONNECT_TIMEOUT.set(properties, CONNECT_TIMEOUT_SECONDS);
        if (url.username() != null) {
            PGProperty.USER.set(properties, url.username());
        }
        if (url.password() != null) {
            PGProperty.PASSWORD.set(properties, url.password());
        }
        long deadline = System.nanoTime() + RETRY_FOR.toNanos();
        for (int attempt = 1; ; attempt++) {
            try (Connection ignored = DriverManager.getConnection(url.jdbcUrl(), properties)) {
                return;
            } catch (SQLException e) {
                if (!isTransient(e) || System.nanoTime() > deadline) {
                    throw problem(e, url, properties);
                }
                log.debug("Database not reachable yet (attempt {}): {}", attempt, e.getMessage());
                sleep(Math.min(1_000, 200L * attempt));
            }
        }
    }

    /** Connection refused, an unknown host, a server starting up or shutting down: it may work a moment later. */
    private static boolean isTransient(SQLException e) {
        String state = String.valueOf(e.getSQLState());
        return state.equals("08001") || state.equals("08006") || state.startsWith("57P");
    }

    /** One line naming DATABASE_URL and what to change; the password never appears in it. */
    private static InvalidSettingException problem(SQLException e, DatabaseUrl url, Properties given) {
        Properties parsed = Driver.parseURL(url.jdbcUrl(), given);
        String user = parsed == null || PGProperty.USER.getOrDefault(parsed) == null
                ? System.getProperty("user.name") : PGProperty.USER.getOrDefault(parsed);
        String serverMessage = e instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : null;
        String state = String.valueOf(e.getSQLState());
        String message = switch (state) {
            case "28P01" -> "DATABASE_URL: password authentication failed for user '" + user
                    + "'; check the password in DATABASE_URL";
            case "28000" -> "DATABASE_URL: PostgreSQL refused user '" + user + "' ("
                    + (serverMessage == null ? firstSentence(e) : serverMessage)
                    + "); check the user in DATABASE_URL and the server's pg_hba.conf";
            case "3D000" -> "DATABASE_URL: " + (serverMessage == null ? firstSentence(e) : serverMessage)
                    + "; create it (createdb) or name an existing database in DATABASE_URL";
            default -> String.valueOf(e.getMessage()).contains("no password was provided")
                    ? "DATABASE_URL: the server asks for the password of user '" + user + "' and DATABASE_URL has "
                    + "none; add it: postgresql://" + user + ":PASSWORD@host:port/database"
                    : "Cannot use the database of DATABASE_URL: " + firstSentence(e)
                    + "; check that PostgreSQL is running and DATABASE_URL names its host, port, database and user";
        };
        return new InvalidSettingException(message, e);
    }

    /** "Connection to h:5432 refused" without the driver's advice, which names no setting. */
    private static String firstSentence(SQLException e) {
        if (e.getCause() instanceof UnknownHostException unknown) {
            return "unknown host " + unknown.getMessage();
        }
        String message = String.valueOf(e.getMessage()).strip();
        int advice = message.indexOf(". Check that");
        return (advice > 0 ? message.substring(0, advice) : message).replaceFirst("\\.$", "");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the database", e);
        }
    }
}
