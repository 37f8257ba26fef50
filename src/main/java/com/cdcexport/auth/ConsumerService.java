package com.cdcexport.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import io.swagger.v3.oas.annotations.media.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Service;
import org.springframework.web.ErrorResponseException;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.auth.ConsumerStore.StoredKey;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.config.Timestamps;
import com.cdcexport.consumer.ConsumerId;

/** Consumers and their keys: creation, rotation with an overlap, revocation, and checking a presented key. */
@Service
public class ConsumerService {

    private static final Logger log = LoggerFactory.getLogger(ConsumerService.class);

    private final ConsumerStore store;
    private final Clock clock;

    ConsumerService(ConsumerStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /** Creates the consumer with its first key, which the caller sees once and the database never. */
    @Transactional
    public IssuedKey create(ConsumerId consumer) {
        Instant now = clock.instant();
        if (!store.createConsumer(consumer.value(), now)) {
            throw new ConsumerExistsException(consumer);
        }
        IssuedKey issued = issue(consumer, "api", now);
        AuthEvents.consumerCreated(consumer.value(), issued.keyId(), "api");
        return issued;
    }

    /**
     * A new key; the consumer's other live keys keep working for {@code overlap}, then expire. Concurrent
     * rotations of one consumer run one after another (each would otherwise miss the keys the others are adding,
     * and several "only" keys would survive an overlap of zero).
     */
    @Transactional
    public IssuedKey rotate(ConsumerId consumer, Duration overlap) {
        if (!store.lockConsumer(consumer.value())) {
            throw new NotFoundException("No consumer " + consumer);
        }
        Instant now = clock.instant();
        IssuedKey issued = issue(consumer, "api", now);
        Instant previousKeysExpireAt = now.plus(overlap);
        store.expireOtherKeys(consumer.value(), issued.keyId(), previousKeysExpireAt);
        AuthEvents.keyRotated(consumer.value(), issued.keyId(), previousKeysExpireAt);
        return new IssuedKey(issued.consumerId(), issued.keyId(), issued.apiKey(), issued.createdAt(),
                Timestamps.json(previousKeysExpireAt));
    }

    /** Revoking a revoked key again changes nothing and succeeds. */
    @Transactional
    public void revoke(ConsumerId consumer, String keyId) {
        StoredKey key = store.keysOf(requireConsumer(consumer).value()).stream()
                .filter(k -> k.id().equals(keyId)).findFirst()
                .orElseThrow(() -> new NotFoundException("Consumer " + consumer + " has no key " + keyId));
        if (store.revoke(key.id(), clock.instant())) {
            AuthEvents.keyRevoked(consumer.value(), key.id(), key.origin());
        }
    }

    /** Two queries whatever the number of consumers: the consumers, then every key in consumer order. */
    @Transactional(readOnly = true)
    public List<ConsumerView> list() {
        Instant now = clock.instant();
        Map<String, List<StoredKey>> keys = store.allKeys().stream()
                .collect(Collectors.groupingBy(StoredKey::consumerId));
        return store.consumers().entrySet().stream()
                .map(c -> view(c.getKey(), c.getValue(), keys.getOrDefault(c.getKey(), List.of()), now))
                .toList();
    }

    @Transactional(readOnly = true)
    public ConsumerView find(ConsumerId consumer) {
        Instant createdAt = store.consumerCreatedAt(consumer.value())
                .orElseThrow(() -> new NotFoundException("No consumer " + consumer));
        return view(consumer.value(), createdAt, store.keysOf(consumer.value()), clock.instant());
    }

    /** The consumer of the key with this SHA-256, or why the key does not open anything. */
    Verification verify(byte[] presentedHash) {
        Optional<StoredKey> found = store.findBySecretHash(presentedHash)
                .filter(k -> ApiKeys.matches(presentedHash, k.secretHash()));
        if (found.isEmpty()) {
            return new Verification(null, null, "unknown_key");
        }
        StoredKey key = found.get();
        if (key.revokedAt() != null) {
            return new Verification(key.consumerId(), key.id(), "revoked_key");
        }
        if (!key.isActiveAt(clock.instant())) {
            return new Verification(key.consumerId(), key.id(), "expired_key");
        }
        return new Verification(key.consumerId(), key.id(), null);
    }

    /**
     * Makes the keys of CONSUMER_API_KEYS the consumers' environment keys: registers new ones (creating their
     * consumers) and revokes environment keys no longer listed, so editing .env and restarting rotates a key.
     */
    @Transactional
    public void reconcileEnvironmentKeys(List<EnvironmentKey> keys) {
        Instant now = clock.instant();
        for (EnvironmentKey key : keys) {
            byte[] hash = ApiKeys.hash(key.apiKey());
            Optional<StoredKey> existing = store.findBySecretHash(hash);
            if (existing.isPresent()) {
                if (!existing.get().consumerId().equals(key.consumer().value())) {
                    throw new InvalidSettingException("CONSUMER_API_KEYS gives consumer '"
                            + key.consumer() + "' a key that belongs to consumer '" + existing.get().consumerId()
                            + "'; every consumer needs its own key");
                }
                if (existing.get().revokedAt() != null) {
                    // Never undo a revocation (the key may have leaked); say why the listed key does not work.
                    log.warn("CONSUMER_API_KEYS lists a revoked key of consumer '{}' ({}); it stays revoked: put a "
                            + "new key there", key.consumer(), existing.get().id());
                }
                continue;
            }
            boolean created = store.createConsumer(key.consumer().value(), now);
            StoredKey stored = new StoredKey(ApiKeys.newKeyId(), key.consumer().value(), hash, "environment", now,
                    null, null);
            if (store.insertKey(stored) && created) {
                AuthEvents.consumerCreated(key.consumer().value(), stored.id(), "environment");
            }
        }
        List<byte[]> listedHashes = keys.stream().map(k -> ApiKeys.hash(k.apiKey())).toList();
        for (StoredKey stored : store.environmentKeys()) {
            boolean listed = listedHashes.stream().anyMatch(h -> ApiKeys.matches(h, stored.secretHash()));
            if (!listed && store.revoke(stored.id(), now)) {
                AuthEvents.keyRevoked(stored.consumerId(), stored.id(), stored.origin());
            }
        }
    }

    private IssuedKey issue(ConsumerId consumer, String origin, Instant now) {
        String apiKey = ApiKeys.newKey();
        StoredKey key = new StoredKey(ApiKeys.newKeyId(), consumer.value(), ApiKeys.hash(apiKey), origin, now,
                null, null);
        store.insertKey(key);
        return new IssuedKey(consumer.value(), key.id(), apiKey, Timestamps.json(now), null);
    }

    private ConsumerId requireConsumer(ConsumerId consumer) {
        if (store.consumerCreatedAt(consumer.value()).isEmpty()) {
            throw new NotFoundException("No consumer " + consumer);
        }
        return consumer;
    }

    private static ConsumerView view(String consumerId, Instant createdAt, List<StoredKey> keys, Instant now) {
        return new ConsumerView(consumerId, Timestamps.json(createdAt), keys.stream()
                .map(k -> new ConsumerView.KeyView(k.id(), k.origin(), Timestamps.json(k.createdAt()),
                        Timestamps.json(k.expiresAt()), Timestamps.json(k.revokedAt()), k.isActiveAt(now)))
                .toList());
    }

    /** @param reason null when the key is valid, else why not (an auth_failed reason) */
    record Verification(String consumerId, String keyId, String reason) {
        boolean valid() {
            return reason == null;
        }
    }

    public record EnvironmentKey(ConsumerId consumer, String apiKey) {
        @Override
        public String toString() {
            return "EnvironmentKey[" + consumer + "]";
        }
    }

    /** A key as shown once to whoever created it. */
    public record IssuedKey(String consumerId, String keyId, String apiKey, String createdAt,
                            @Schema(nullable = true) String previousKeysExpireAt) {
        @Override
        public String toString() {
            return "IssuedKey[" + consumerId + ", " + keyId + "]";
        }
    }

    /** Timestamps in the API's JSON format; absent ones are null. */
    public record ConsumerView(String consumerId, String createdAt, List<KeyView> keys) {
        public record KeyView(String keyId, String origin, String createdAt, @Schema(nullable = true) String expiresAt,
                              @Schema(nullable = true) String revokedAt, boolean active) {
        }
    }

    /** 409: the consumer exists already. */
    public static final class ConsumerExistsException extends ErrorResponseException {
        ConsumerExistsException(ConsumerId consumer) {
            super(HttpStatus.CONFLICT, ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, "Consumer " + consumer
                    + " exists already; rotate its key with POST /consumers/" + consumer + "/keys"), null);
        }
    }

    /** 404: no such consumer or key. */
    public static final class NotFoundException extends ErrorResponseException {
        NotFoundException(String message) {
            super(HttpStatus.NOT_FOUND, ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, message), null);
        }
    }
}
