package com.cdcexport.auth;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.EstimationProbe;
import jakarta.servlet.http.HttpServletRequest;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;

/**
 * Failed authentication per remote address: how many bad keys an address may present (AUTH_FAILURES_PER_MINUTE,
 * a token bucket refilled evenly), and the auth_failed audit lines, of which each address gets one per
 * AUTH_FAILURE_LOG_INTERVAL plus one summary with the count of the others, so a key-guessing client can neither
 * cost a database lookup per guess nor fill the log.
 */
@Component
class AuthFailures {

    private final long perMinute;
    private final Duration logInterval;
    private final Cache<String, Bucket> allowances = Caffeine.newBuilder()
            .expireAfterAccess(Duration.ofMinutes(2)).maximumSize(100_000).build();
    private final Cache<String, Repeats> repeats;

    AuthFailures(CdcProperties properties) {
        this.perMinute = properties.auth().failuresPerMinute();
        this.logInterval = properties.auth().failureLogInterval();
        // The system scheduler ends a window on time, so its summary is written even if the address goes quiet.
        this.repeats = Caffeine.newBuilder()
                .expireAfterWrite(logInterval.isZero() ? Duration.ofNanos(1) : logInterval)
                .scheduler(Scheduler.systemScheduler())
                .maximumSize(100_000)
                .<String, Repeats>removalListener((address, window, cause) -> {
                    if (address != null && window != null && window.count.get() > 0) {
                        AuthEvents.authFailedRepeatedly(address, window.count.get(), window.reasons, logInterval);
                    }
                })
                .build();
    }

    /** Seconds until this address may present a key again; 0 when it may now. */
    long secondsBlocked(String remoteAddress) {
        Bucket bucket = perMinute == 0 ? null : allowances.getIfPresent(remoteAddress);
        if (bucket == null) {
            return 0;
        }
        EstimationProbe probe = bucket.estimateAbilityToConsume(1);
        return probe.canBeConsumed() ? 0
                : Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999));
    }

    /**
     * Audits a refused request and, when it presented credentials that opened nothing, spends one of the
     * address's allowance.
     */
    void failed(HttpServletRequest request, String reason, String consumerId, String keyId, Credentials presented) {
        String address = request.getRemoteAddr();
        if (presented == Credentials.INVALID && perMinute > 0) {
            allowances.get(address, a -> Bucket.builder()
                    .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
                    .build()).tryConsume(1);
        }
        audit(request, reason, consumerId, keyId);
    }

    /** A request refused unchecked because its address is throttled: counted in the summary, not logged alone. */
    void throttled(HttpServletRequest request) {
        audit(request, "throttled", null, null);
    }

    private void audit(HttpServletRequest request, String reason, String consumerId, String keyId) {
        String address = request.getRemoteAddr();
        if (logInterval.isZero()) {
            AuthEvents.authFailed(reason, request.getMethod(), request.getRequestURI(), address, consumerId, keyId);
            return;
        }
        boolean[] first = {false};
        Repeats window = repeats.get(address, a -> {
            first[0] = true;
            return new Repeats();
        });
        if (first[0]) {
            AuthEvents.authFailed(reason, request.getMethod(), request.getRequestURI(), address, consumerId, keyId);
        } else {
            window.reasons.add(reason);
            window.count.incrementAndGet();
        }
    }

    /** The failures of one address after the first logged one in a window. */
    private static final class Repeats {
        final AtomicLong count = new AtomicLong();
        final Set<String> reasons = ConcurrentHashMap.newKeySet();
    }
}
