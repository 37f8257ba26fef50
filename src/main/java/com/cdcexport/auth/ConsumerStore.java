package com.cdcexport.auth;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The consumers and api_keys tables (V5). */
@Repository
class ConsumerStore {

    private static final String KEY_COLUMNS =
            "id, consumer_id, secret_hash, origin, created_at, expires_at, revoked_at";

    private final JdbcClient jdbc;

    ConsumerStore(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** false when the consumer already exists. */
    boolean createConsumer(String consumerId, Instant now) {
        return jdbc.sql("INSERT INTO consumers (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")
                .params(consumerId, Timestamp.from(now)).update() == 1;
    }

    Optional<Instant> consumerCreatedAt(String consumerId) {
        return jdbc.sql("SELECT created_at FROM consumers WHERE id = ?").param(consumerId)
                .query((rs, n) -> rs.getTimestamp(1).toInstant()).optional();
    }

    /**
     * Locks the consumer's row until the transaction ends: changes to one consumer's keys (rotations) then run
     * one after another, each seeing the keys the previous one committed. False when there is no such consumer.
     */
    boolean lockConsumer(String consumerId) {
        return jdbc.sql("SELECT 1 FROM consumers WHERE id = ? FOR UPDATE").param(consumerId)
                .query(Integer.class).optional().isPresent();
    }

    /** Every consumer and when it was created, by id. */
    Map<String, Instant> consumers() {
        Map<String, Instant> consumers = new LinkedHashMap<>();
        jdbc.sql("SELECT id, created_at FROM consumers ORDER BY id")
                .query(rs -> {
                    consumers.put(rs.getString(1), rs.getTimestamp(2).toInstant());
                });
        return consumers;
    }

    List<StoredKey> allKeys() {
        return jdbc.sql("SELECT " + KEY_COLUMNS + " FROM api_keys ORDER BY consumer_id, created_at, id")
                .query(ConsumerStore::key).list();
    }

    /** false when a key with this hash exists already (an environment key registered by an earlier start). */
    boolean insertKey(StoredKey key) {
        return jdbc.sql("INSERT INTO api_keys (" + KEY_COLUMNS + ") VALUES (?, ?, ?, ?, ?, NULL, NULL)"
                        + " ON CONFLICT (secret_hash) DO NOTHING")
                .params(key.id(), key.consumerId(), key.secretHash(), key.origin(), Timestamp.from(key.createdAt()))
                .update() == 1;
    }

    Optional<StoredKey> findBySecretHash(byte[] hash) {
        return jdbc.sql("SELECT " + KEY_COLUMNS + " FROM api_keys WHERE secret_hash = ?").param(hash)
                .query(ConsumerStore::key).optional();
    }

    List<StoredKey> keysOf(String consumerId) {
        return jdbc.sql("SELECT " + KEY_COLUMNS + " FROM api_keys WHERE consumer_id = ? ORDER BY created_at, id")
                .param(consumerId).query(ConsumerStore::key).list();
    }

    List<StoredKey> environmentKeys() {
        return jdbc.sql("SELECT " + KEY_COLUMNS + " FROM api_keys WHERE origin = 'environment' AND revoked_at IS NULL")
                .query(ConsumerStore::key).list();
    }

    /** Lets every other live key of the consumer expire at {@code expiresAt} (or earlier, if it already would). */
    void expireOtherKeys(String consumerId, String keptKeyId, Instant expiresAt) {
        jdbc.sql("UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, :at), :at)"
                        + " WHERE consumer_id = :consumer AND id <> :kept AND revoked_at IS NULL")
                .param("at", Timestamp.from(expiresAt)).param("consumer", consumerId).param("kept", keptKeyId)
                .update();
    }

    /** false when the key was revoked already. */
    boolean revoke(String keyId, Instant now) {
        return jdbc.sql("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .params(Timestamp.from(now), keyId).update() == 1;
    }

    private static StoredKey key(ResultSet rs, int rowNum) throws SQLException {
        return new StoredKey(rs.getString("id"), rs.getString("consumer_id"), rs.getBytes("secret_hash"),
                rs.getString("origin"), rs.getTimestamp("created_at").toInstant(),
                instant(rs.getTimestamp("expires_at")), instant(rs.getTimestamp("revoked_at")));
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }

    record StoredKey(String id, String consumerId, byte[] secretHash, String origin, Instant createdAt,
                     Instant expiresAt, Instant revokedAt) {

        boolean isActiveAt(Instant now) {
            return revokedAt == null && (expiresAt == null || now.isBefore(expiresAt));
        }
    }
}
