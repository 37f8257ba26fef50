package com.cdcexport.export.job;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.consumer.ConsumerId;

/**
 * EXPORTS_PER_HOUR exports a consumer may ask for, EXPORT_BURST of them at once: a token bucket (bucket4j) per
 * consumer of EXPORT_BURST tokens, refilled evenly over the hour. An export is a full copy of personal data on
 * this service's disk, so this is far below the API's RATE_LIMIT_PER_MINUTE. Buckets live in this instance's
 * memory, like that limit's: N instances allow up to N times as many.
 */
@Component
class ExportRateLimit {

    private final int perHour;
    private final int burst;
    private final Cache<ConsumerId, Bucket> buckets;

    ExportRateLimit(CdcProperties properties) {
        this.perHour = properties.jobs().exportsPerHour();
        this.burst = properties.jobs().exportBurst();
        // An idle bucket is full again after burst / rate; forgetting it after that changes nothing.
        Duration refilled = Duration.ofSeconds(perHour == 0 ? 0 : (long) Math.ceil(burst * 3600.0 / perHour));
        this.buckets = Caffeine.newBuilder().expireAfterAccess(refilled.plusMinutes(1)).maximumSize(100_000).build();
    }

    /** @throws ExportJobService.ExportRateLimitedException when the consumer's allowance is spent */
    void take(ConsumerId consumer) {
        if (perHour == 0) {
            return;
        }
        ConsumptionProbe probe = buckets.get(consumer, c -> Bucket.builder()
                .addLimit(limit -> limit.capacity(burst).refillGreedy(perHour, Duration.ofHours(1)))
                .build()).tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999));
            throw new ExportJobService.ExportRateLimitedException("Consumer " + consumer + " may start "
                    + String.format(Locale.ROOT, "%,d", perHour) + " exports an hour, " + burst + " at once "
                    + "(EXPORTS_PER_HOUR, EXPORT_BURST); retry after " + seconds + " s", seconds);
        }
    }

    /** Returns a token taken for an export that was not accepted after all (the consumer was busy, the queue full). */
    void giveBack(ConsumerId consumer) {
        if (perHour == 0) {
            return;
        }
        Bucket bucket = buckets.getIfPresent(consumer);
        if (bucket != null) {
            bucket.addTokens(1);
        }
    }
}
