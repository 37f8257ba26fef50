package com.cdcexport.export.job;

import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The instances table: which instances share this database and whether they are alive. Job rows only say which
 * instance runs a job; an idle instance would be invisible without this.
 */
@Component
public class InstanceHeartbeats {

    private static final Logger log = LoggerFactory.getLogger(InstanceHeartbeats.class);
    /** Rows of instances silent this long are forgotten (a stopped container, a renamed host). */
    static final Duration FORGET_AFTER = Duration.ofDays(1);

    private final JdbcClient jdbc;
    private final InstanceIdentity instance;
    private final Clock clock;
    private final Instant startedAt;
    /** One warning when beats start failing (a database outage), not one per beat. */
    private volatile boolean failing;

    InstanceHeartbeats(JdbcClient jdbc, InstanceIdentity instance, Clock clock) {
        this.jdbc = jdbc;
        this.instance = instance;
        this.clock = clock;
        this.startedAt = clock.instant();
    }

    /**
     * An instance as last seen.
     *
     * @param stoppedAt when it shut down cleanly; null while it runs (or if it died)
     */
    public record Instance(String id, Instant startedAt, Instant heartbeatAt, Instant stoppedAt, long runningJobs) {
    }

    /** Every instance seen in the last day, this one first, then by last heartbeat. */
    public List<Instance> all() {
        return jdbc.sql("""
                        SELECT i.id, i.started_at, i.heartbeat_at, i.stopped_at,
                               (SELECT count(*) FROM export_jobs j WHERE j.status = 'running' AND j.instance_id = i.id)
                          FROM instances i
                         ORDER BY i.id = :me DESC, i.heartbeat_at DESC, i.id""")
                .param("me", instance.value())
                .query((rs, n) -> new Instance(rs.getString(1), rs.getTimestamp(2).toInstant(),
                        rs.getTimestamp(3).toInstant(), rs.getTimestamp(4) == null ? null : rs.getTimestamp(4).toInstant(),
                        rs.getLong(5)))
                .list();
    }

    public String self() {
        return instance.value();
    }

    void beat() {
        try {
            Instant now = clock.instant();
            jdbc.sql("""
                            INSERT INTO instances (id, started_at, heartbeat_at) VALUES (:id, :started, :now)
                            ON CONFLICT (id) DO UPDATE SET started_at = EXCLUDED.started_at,
                                   heartbeat_at = EXCLUDED.heartbeat_at, stopped_at = NULL""")
                    .param("id", instance.value()).param("started", Timestamp.from(startedAt))
                    .param("now", Timestamp.from(now)).update();
            jdbc.sql("DELETE FROM instances WHERE heartbeat_at < ?").param(Timestamp.from(now.minus(FORGET_AFTER)))
                    .update();
            if (failing) {
                failing = false;
                log.info("Instance heartbeats recorded again");
            }
        } catch (RuntimeException e) {
            if (!failing) {
                failing = true;
                log.warn("Instance heartbeat failed (logged once until it succeeds again): {}", e.toString());
            }
        }
    }

    void stopped() {
        try {
            jdbc.sql("UPDATE instances SET stopped_at = :now, heartbeat_at = :now WHERE id = :id")
                    .param("now", Timestamp.from(clock.instant())).param("id", instance.value()).update();
        } catch (RuntimeException e) {
            log.warn("Could not record that instance {} stopped: {}", instance.value(), e.toString());
        }
    }
}
