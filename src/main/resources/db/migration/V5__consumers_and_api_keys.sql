-- Consumers and their API keys (AUTH_MODE=api-key). A key is shown once, at creation; the database keeps only
-- its SHA-256. Keys are 256 random bits, so a fast hash is enough: nothing can be guessed offline from it.
CREATE TABLE consumers (
    id          VARCHAR(128) PRIMARY KEY,
    created_at  TIMESTAMPTZ  NOT NULL
);

CREATE TABLE api_keys (
    -- Public handle of a key (listing, revocation, audit events); never part of the secret.
    id           VARCHAR(32)  PRIMARY KEY,
    consumer_id  VARCHAR(128) NOT NULL REFERENCES consumers (id) ON DELETE CASCADE,
    secret_hash  BYTEA        NOT NULL UNIQUE,
    -- 'api' (POST /consumers, key rotation) or 'environment' (CONSUMER_API_KEYS, reconciled at start-up).
    origin       VARCHAR(16)  NOT NULL CHECK (origin IN ('api', 'environment')),
    created_at   TIMESTAMPTZ  NOT NULL,
    -- Set by a rotation: the old key keeps working until then, so clients can switch without downtime.
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX api_keys_consumer ON api_keys (consumer_id, created_at);
