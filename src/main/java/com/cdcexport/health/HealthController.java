package com.cdcexport.health;

import java.time.Clock;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.config.Timestamps;

/** The seed's liveness answer: cheap, never touches the database. */
@RestController
class HealthController {

    private final Clock clock;

    HealthController(Clock clock) {
        this.clock = clock;
    }

    @GetMapping("/health")
    Health health() {
        return new Health("ok", Timestamps.json(clock.instant()));
    }

    record Health(String status, String timestamp) {
    }
}
