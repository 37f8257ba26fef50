-- The service instances seen, by their heartbeats: each running instance upserts its row at every heartbeat
-- (JobHousekeeping), and marks it stopped when it shuts down cleanly. Read by the console's health page; rows of
-- instances silent for a day are removed by the others' heartbeats.
CREATE TABLE instances (
    id            VARCHAR(255) PRIMARY KEY,
    started_at    TIMESTAMPTZ  NOT NULL,
    heartbeat_at  TIMESTAMPTZ  NOT NULL,
    stopped_at    TIMESTAMPTZ
);
