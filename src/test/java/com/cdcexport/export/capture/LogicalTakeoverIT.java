package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.LogicalDatabase;
import com.cdcexport.support.OrderLinesWriter;
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
        try (ServiceProcess first = ServiceProcess.start(with(environment, "INSTANCE_ID", "first"));
             ServiceProcess second = ServiceProcess.start(with(environment, "INSTANCE_ID", "second"))) {
            long written;
            try (OrderLinesWriter writer = OrderLinesWriter.start(LogicalDatabase.url())) {
                String leader = awaitLeader(null);
                ServiceProcess decoding = decoderPid(first).equals(leader) ? first : second;
                ServiceProcess waiting = decoding == first ? second : first;
                writer.awaitMore(500);

                decoding.kill();
                String successor = awaitLeader(leader);
                assertThat(successor).isEqualTo(decoderPid(waiting));
                writer.awaitMore(500);
                writer.close();
                written = writer.written();
            }
            // The surviving instance decodes what is left.
            LogicalDatabase.awaitDecoded();
            assertThat(LogicalDatabase.loggedOrderLineInserts()).as("one entry per inserted row")
                    .hasSize((int) written).doesNotHaveDuplicates();
        }
    }

    private static Map<String, String> with(Map<String, String> environment, String name, String value) {
        Map<String, String> more = new java.util.HashMap<>(environment);
        more.put(name, value);
        return more;
    }

    /** What the decoder's progress row names a leader by: its JVM's pid (after "hostname/"). */
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
}
