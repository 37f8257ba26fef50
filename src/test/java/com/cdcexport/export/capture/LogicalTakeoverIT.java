package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LogicalDatabase;
import com.cdcexport.support.ServiceProcess;

/**
 * Two instances capture the same table from the WAL: one decodes (it holds the advisory lock), the other waits.
 * Killing the decoding instance with SIGKILL hands the slot to the other, and every change a writer made meanwhile
 * is logged exactly once.
 */
class LogicalTakeoverIT {

    private final JdbcTemplate jdbc = LogicalDatabase.jdbc();

    @Test
    void killingTheDecodingInstanceHandsTheSlotToTheOtherWithoutLosingOrRepeatingAChange() throws Exception {
        jdbc.execute("DELETE FROM app.order_lines");
        Map<String, String> environment = Map.of("DATABASE_URL", LogicalDatabase.url(),
                "EXPORT_TABLES", "users,app.order_lines", "CAPTURE_MODE", "logical");
        ServiceProcess first = ServiceProcess.start(with(environment, "INSTANCE_ID", "first"));
        ServiceProcess second = ServiceProcess.start(with(environment, "INSTANCE_ID", "second"));
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong written = new AtomicLong();
        Thread writer = new Thread(() -> {
            try (Connection connection = DriverManager.getConnection(LogicalDatabase.url());
                 Statement statement = connection.createStatement()) {
                while (writing.get()) {
                    statement.execute("INSERT INTO app.order_lines VALUES (" + (written.get() + 1) + ", 1, 's', 1)");
                    written.incrementAndGet();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            writer.start();
            String leader = awaitLeader(null);
            ServiceProcess decoding = decoderPid(first).equals(leader) ? first : second;
            ServiceProcess waiting = decoding == first ? second : first;
            awaitWritten(written, 500);

            decoding.kill();
            String successor = awaitLeader(leader);
            assertThat(successor).isEqualTo(decoderPid(waiting));
            awaitWritten(written, 500);
        } finally {
            writing.set(false);
            writer.join();
        }
        awaitDecoded();
        List<Long> logged = jdbc.queryForList("SELECT (key->>0)::bigint FROM change_log WHERE table_oid = "
                + "'app.order_lines'::regclass AND op = 'I' ORDER BY 1", Long.class);
        assertThat(logged).as("one entry per inserted row").hasSize((int) written.get()).doesNotHaveDuplicates();
        first.close();
        second.close();
    }

    private static Map<String, String> with(Map<String, String> environment, String name, String value) {
        Map<String, String> more = new java.util.HashMap<>(environment);
        more.put(name, value);
        return more;
    }

    /** The JVM pid part of a process's leader name (hostname/pid), from its log's PID. */
    private static String decoderPid(ServiceProcess service) {
        return String.valueOf(service.pid());
    }

    /** Waits until the decoder's progress names a leader other than {@code previous}; returns its pid. */
    private String awaitLeader(String previous) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            String leader = jdbc.queryForObject("SELECT coalesce(leader, '') FROM logical_capture", String.class);
            String pid = leader.substring(leader.lastIndexOf('/') + 1);
            if (!pid.isEmpty() && !pid.equals(previous)) {
                return pid;
            }
            assertThat(System.nanoTime()).as("a new decoding instance after %s", previous).isLessThan(deadline);
            IntegrationTest.sleep(50);
        }
    }

    private static void awaitWritten(AtomicLong written, long more) {
        long target = written.get() + more;
        while (written.get() < target) {
            IntegrationTest.sleep(5);
        }
    }

    private void awaitDecoded() {
        String marker = jdbc.queryForObject("SELECT pg_logical_emit_message(false, 'cdc_export', 'test')::text",
                String.class);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!jdbc.queryForObject("SELECT applied_lsn >= ?::pg_lsn FROM logical_capture", Boolean.class, marker)) {
            assertThat(System.nanoTime()).as("the decoder passes %s", marker).isLessThan(deadline);
            IntegrationTest.sleep(10);
        }
    }
}
