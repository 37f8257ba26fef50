-- The seed's data model, exactly as specified (names, types, constraints, index).
CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    email       VARCHAR(255) NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ  NOT NULL,
    updated_at  TIMESTAMPTZ  NOT NULL,
    is_deleted  BOOLEAN      NOT NULL DEFAULT FALSE
);

CREATE INDEX idx_users_updated_at ON users (updated_at);

CREATE TABLE watermarks (
    id                SERIAL PRIMARY KEY,
    consumer_id       VARCHAR(255) NOT NULL UNIQUE,
    last_exported_at  TIMESTAMPTZ  NOT NULL,
    updated_at        TIMESTAMPTZ  NOT NULL
);
