package com.cdcexport.export.job;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The queue is the job table. A claim takes the oldest queued job with FOR UPDATE SKIP LOCKED (the pattern of
 * db-scheduler and JobRunr), so instances sharing the database each take different jobs without waiting on one
 * another, and marks it running here with a new attempt number.
 */
@Component
class JobQueue {

    private final JdbcClient jdbc;

    JobQueue(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Optional<UUID> claim(String instanceId, Instant now) {
        return jdbc.sql("""
                        UPDATE export_jobs
                           SET status = 'running', instance_id = :instance, started_at = :now, heartbeat_at = :now,
                               attempts = attempts + 1
                         WHERE id = (SELECT id FROM export_jobs WHERE status = 'queued'
                                      ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
                        RETURNING id""")
                .param("instance", instanceId)
                .param("now", java.sql.Timestamp.from(now))
                .query(UUID.class)
                .optional();
    }
}
