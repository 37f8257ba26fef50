-- A failed job's error is what its consumer reads: a stable sentence by kind of failure (the table's shape changed,
-- the database went away, ...). The detail behind it (PostgreSQL's or the file system's own message, which names
-- internal columns, query positions and the service's paths) is the admin's: the console shows it, and the log.
ALTER TABLE export_jobs ADD COLUMN error_detail TEXT;
