package com.cdcexport.auth;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.context.annotation.Configuration;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

import com.cdcexport.config.CdcProperties;

/**
 * RATE_LIMIT_PER_MINUTE requests per consumer and minute, as a token bucket (bucket4j) of that capacity refilled
 * evenly, so a client may burst up to a minute's worth. Buckets live in this instance's memory: N instances allow
 * up to N times the limit. The key is the authenticated consumer, else (AUTH_MODE=off) the X-Consumer-ID header.
 */
@Configuration(proxyBeanMethods = false)
class RateLimiter implements WebMvcConfigurer, HandlerInterceptor {

    static final String REMAINING_HEADER = "X-RateLimit-Remaining";

    private final long perMinute;
    // Idle buckets are full again after a minute, so forgetting them after two changes nothing.
    private final Cache<String, Bucket> buckets = Caffeine.newBuilder()
            .expireAfterAccess(Duration.ofMinutes(2)).maximumSize(100_000).build();

    RateLimiter(CdcProperties properties) {
        this.perMinute = properties.auth().rateLimitPerMinute();
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        if (perMinute > 0) {
            registry.addInterceptor(this).addPathPatterns("/exports/**", "/consumers/**");
        }
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        Bucket bucket = buckets.get(clientOf(request), k -> Bucket.builder()
                .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999));
            throw AuthProblem.rateLimited("More than " + perMinute + " requests a minute for this consumer; "
                    + "retry after " + seconds + " s", seconds);
        }
        response.setHeader(REMAINING_HEADER, Long.toString(probe.getRemainingTokens()));
        return true;
    }

    private static String clientOf(HttpServletRequest request) {
        Caller caller = SecurityProblems.callerOf(SecurityContextHolder.getContext().getAuthentication());
        if (caller != null) {
            return caller.isAdmin() ? "admin" : "consumer:" + caller.consumerId();
        }
        String header = request.getHeader(ExportAccess.CONSUMER_HEADER);
        return header != null ? "consumer:" + header : "address:" + request.getRemoteAddr();
    }
}
