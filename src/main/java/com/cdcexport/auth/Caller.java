package com.cdcexport.auth;

import java.util.Optional;

import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

import com.cdcexport.export.ConsumerId;

/**
 * Who sent the current request: a consumer (by its API key), the administrator, or, with AUTH_MODE=off,
 * nobody in particular.
 */
public record Caller(String consumerId, String keyId) {

    static final Caller ADMIN = new Caller(null, null);

    public boolean isAdmin() {
        return consumerId == null;
    }

    /** The consumer the key of the current request belongs to; empty with AUTH_MODE=off. */
    public static Optional<ConsumerId> authenticatedConsumer() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication instanceof ApiKeyAuthentication key && key.isAuthenticated()
                && !key.caller().isAdmin()) {
            return Optional.of(new ConsumerId(key.caller().consumerId()));
        }
        return Optional.empty();
    }

    /**
     * The consumer an /exports request acts for: the key's consumer (the header, when sent, was checked to be the
     * same), or, with AUTH_MODE=off, the X-Consumer-ID header.
     */
    public static ConsumerId consumerFor(String consumerHeader) {
        return authenticatedConsumer().orElseGet(() -> new ConsumerId(consumerHeader));
    }

    /** Whether the current request may see data of {@code consumer}. */
    public static boolean maySee(String consumer) {
        return authenticatedConsumer().map(c -> c.value().equals(consumer)).orElse(true);
    }
}
