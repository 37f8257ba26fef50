-- Jobs become a durable queue: any instance claims queued jobs with FOR UPDATE SKIP LOCKED, and a job whose
-- instance died is queued again. attempts numbers the claims; every transition of a running job names its
-- attempt, so a stale runner (an instance that lost its heartbeat but still runs) can never commit.
ALTER TABLE export_jobs ADD COLUMN attempts INT NOT NULL DEFAULT 0;
-- Rows the export will write, known once its snapshot is taken; progress = rows_exported / total_rows.
ALTER TABLE export_jobs ADD COLUMN total_rows BIGINT;

CREATE INDEX export_jobs_queued ON export_jobs (created_at, id) WHERE status = 'queued';
-- Newest-first listing with keyset pagination.
CREATE INDEX export_jobs_created ON export_jobs (created_at DESC, id DESC);
