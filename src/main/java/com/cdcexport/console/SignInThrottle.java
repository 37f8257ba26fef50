package com.cdcexport.console;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * CONSOLE_SIGN_IN_PER_MINUTE requests to the sign-in page (showing it and posting it) per remote address, as a
 * token bucket of that capacity refilled evenly, like the API's RATE_LIMIT_PER_MINUTE; beyond, an HTML 429 with
 * Retry-After, before any token is checked or made. Bad tokens count besides against AUTH_FAILURES_PER_MINUTE. The
 * API's buckets do not fit: they are per consumer, and that allowance is for bad keys only.
 */
final class SignInThrottle extends OncePerRequestFilter {

    private static final RequestMatcher SIGN_IN = PathPatternRequestMatcher.withDefaults()
            .matcher(ConsoleSecurity.SIGN_IN);

    private final long perMinute;
    private final ConsoleErrors errors;
    // Idle buckets are full again after a minute, so forgetting them after two changes nothing.
    private final Cache<String, Bucket> buckets = Caffeine.newBuilder()
            .expireAfterAccess(Duration.ofMinutes(2)).maximumSize(100_000).build();

    SignInThrottle(long perMinute, ConsoleErrors errors) {
        this.perMinute = perMinute;
        this.errors = errors;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return perMinute == 0 || !SIGN_IN.matches(request);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        Bucket bucket = buckets.get(request.getRemoteAddr(), address -> Bucket.builder()
                .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999));
            errors.tooManySignInRequests(request, response, seconds);
            return;
        }
        chain.doFilter(request, response);
    }
}
