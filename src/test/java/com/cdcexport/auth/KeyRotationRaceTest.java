package com.cdcexport.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.support.Concurrently;
import com.cdcexport.support.IntegrationTest;

class KeyRotationRaceTest extends IntegrationTest {

    @Autowired
    private ConsumerService consumers;

    @Test
    void concurrentRotationsWithoutOverlapLeaveExactlyOneActiveKey() throws Exception {
        ConsumerId consumer = new ConsumerId("rotating-" + UUID.randomUUID().toString().substring(0, 8));
        consumers.create(consumer);

        Concurrently.run(10, n -> consumers.rotate(consumer, Duration.ZERO));

        assertThat(jdbc.queryForObject("SELECT count(*) FROM api_keys WHERE consumer_id = ?", Long.class,
                consumer.value())).isEqualTo(11);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM api_keys WHERE consumer_id = ? AND revoked_at IS NULL "
                + "AND (expires_at IS NULL OR expires_at > now())", Long.class, consumer.value())).isEqualTo(1);
        assertThat(consumers.find(consumer).keys().stream().filter(ConsumerService.ConsumerView.KeyView::active))
                .hasSize(1);
    }
}
