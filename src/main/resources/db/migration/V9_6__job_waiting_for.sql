-- What a running job waits for before it can read (a reader connection, a standby to catch up, the log-based
-- capture's decoder), written by its heartbeat so that every instance's API and console can show it. NULL while it
-- reads and writes, and once it has finished.
ALTER TABLE export_jobs ADD COLUMN waiting_for TEXT;
