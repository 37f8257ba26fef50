package com.cdcexport.auth;

import java.util.Optional;

import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

import com.cdcexport.consumer.ConsumerId;

/**
 * Who sent the current request: a consumer (by its API key), the administrator, or, with AUTH_MODE=off,
 * nobody in particular.
 */
public record Caller(String consumerId, String keyId) {

    static final Caller ADMIN = new Caller(null, null);

    public boolean isAdmin() {
        return consumerId == null;
    }

    /** The consumer the key of the current request belongs to; empty with AUTH_MODE=off or the admin token. */
    static Optional<ConsumerId> authenticatedConsumer() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication instanceof ApiKeyAuthentication key && key.isAuthenticated()
                && !key.caller().isAdmin()) {
            return Optional.of(new ConsumerId(key.caller().consumerId()));
        }
        return Optional.empty();
    }
}
