package com.cdcexport.auth;

import static net.logstash.logback.argument.StructuredArguments.kv;

import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Audit events, one JSON line each. They name consumers and key ids, never a key or the admin token. */
final class AuthEvents {

    private static final Logger log = LoggerFactory.getLogger("auth.events");

    private AuthEvents() {
    }

    static void consumerCreated(String consumerId, String keyId, String origin) {
        log.info("consumer_created", kv("event", "consumer_created"), kv("consumerId", consumerId),
                kv("keyId", keyId), kv("origin", origin));
    }

    static void keyRotated(String consumerId, String keyId, Instant previousKeysExpireAt) {
        log.info("key_rotated", kv("event", "key_rotated"), kv("consumerId", consumerId), kv("keyId", keyId),
                kv("previousKeysExpireAt", previousKeysExpireAt.toString()));
    }

    static void keyRevoked(String consumerId, String keyId, String origin) {
        log.info("key_revoked", kv("event", "key_revoked"), kv("consumerId", consumerId), kv("keyId", keyId),
                kv("origin", origin));
    }

    /**
     * @param reason  missing_key, unknown_key, revoked_key, expired_key, consumer_mismatch, admin_only, not_a_consumer
     * @param keyId   the key's id when the key was recognised, else null
     */
    static void authFailed(String reason, String method, String path, String remoteAddress, String consumerId,
                           String keyId) {
        log.warn("auth_failed", kv("event", "auth_failed"), kv("reason", reason), kv("method", method),
                kv("path", path), kv("remoteAddress", remoteAddress), kv("consumerId", consumerId),
                kv("keyId", keyId));
    }

    /** The failures of one address that {@link #authFailed} did not log one by one during {@code interval}. */
    static void authFailedRepeatedly(String remoteAddress, long count, Set<String> reasons, Duration interval) {
        log.warn("auth_failed", kv("event", "auth_failed"), kv("remoteAddress", remoteAddress),
                kv("repeated", count), kv("reasons", new TreeSet<>(reasons)), kv("intervalSeconds", interval.toSeconds()));
    }
}
