-- What a consumer with a row filter holds of a table, as of its watermark P: the keys of the rows it was sent and
-- not sent a DELETE for since. Whether a changed row was inside the consumer's filter at P cannot be read from the
-- table (only S's version of the row exists) nor from the change log (it keeps no values of updated rows, which
-- would make every application write pay for them), so the service keeps it on its own side. A delta then says
-- INSERT for a row the consumer does not hold and now may see, DELETE for one it holds and may no longer see,
-- UPDATE for one it holds and still sees, and nothing for a row that was never inside its filter. Keys are JSON
-- arrays in key order, built from the typed key values in the export's session (UTC), so equal keys are equal jsonb.
-- Consumers without a row filter keep nothing here: for them "held at P" is "existed at P", which the change log
-- tells (see docs/capture.md).
CREATE TABLE held_rows (
    consumer_id  VARCHAR(255) NOT NULL,
    table_name   TEXT         NOT NULL,
    key          JSONB        NOT NULL,
    PRIMARY KEY (consumer_id, table_name, key)
);

-- An export's changes to held_rows, written in its snapshot S by its reading transaction and applied by the
-- transaction that completes the job and moves the watermark (rows of another attempt of the job are ignored
-- there and removed with the job's). held: whether the consumer holds the key after this export.
CREATE TABLE held_rows_pending (
    job_id      UUID     NOT NULL,
    attempt     INT      NOT NULL,
    table_name  TEXT     NOT NULL,
    key         JSONB    NOT NULL,
    held        BOOLEAN  NOT NULL
);
CREATE INDEX held_rows_pending_job ON held_rows_pending (job_id, attempt, table_name);
