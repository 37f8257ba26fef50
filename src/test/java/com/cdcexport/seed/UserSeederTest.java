package com.cdcexport.seed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.support.IntegrationTest;

class UserSeederTest extends IntegrationTest {

    @Autowired
    UserSeeder seeder;

    @Test
    void seedsRealisticUsersIntoEmptyTable() throws Exception {
        assertThat(seeder.seed(20_000)).isEqualTo(20_000);

        Map<String, Object> stats = jdbc.queryForMap("""
                SELECT count(*) AS total,
                       count(*) FILTER (WHERE is_deleted) AS deleted,
                       count(*) FILTER (WHERE updated_at > created_at) AS updated_later,
                       count(*) FILTER (WHERE updated_at < created_at) AS backwards,
                       count(DISTINCT email) AS emails,
                       count(DISTINCT name) AS names,
                       min(created_at) >= now() - interval '30 days 1 minute' AS within_30_days,
                       max(updated_at) <= now() AS not_in_future,
                       max(created_at) - min(created_at) > interval '25 days' AS spread
                  FROM users""");
        assertThat(stats.get("total")).isEqualTo(20_000L);
        assertThat((Long) stats.get("deleted")).isGreaterThanOrEqualTo(200L);
        assertThat((Long) stats.get("updated_later")).isBetween(5_000L, 12_000L);
        assertThat(stats.get("backwards")).isEqualTo(0L);
        assertThat(stats.get("emails")).isEqualTo(20_000L);
        assertThat((Long) stats.get("names")).isGreaterThan(10_000L);
        assertThat(stats).containsEntry("within_30_days", true).containsEntry("not_in_future", true)
                .containsEntry("spread", true);
    }

    @Test
    void seedingIsIdempotent() throws Exception {
        seeder.seed(1_000);
        assertThat(seeder.seed(1_000)).isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM users", Long.class)).isEqualTo(1_000L);
    }

    @Test
    void seededRowsAreExportable() throws Exception {
        seeder.seed(500);
        long live = jdbc.queryForObject("SELECT count(*) FROM users WHERE NOT is_deleted", Long.class);

        assertThat(export("full", "seeded")).hasSize((int) live + 1);
    }
}
