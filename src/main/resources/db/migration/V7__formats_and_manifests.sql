-- Export formats (csv, csv.gz, jsonl, parquet, ...) and the manifest written beside each export's files.

-- The format a consumer's exports take when the request names none (NULL: csv, the original contract).
ALTER TABLE consumers ADD COLUMN default_format VARCHAR(16);

-- One format per export; the manifest ({base}.manifest.json) is removed with the export's files, so its name is
-- kept with them. Jobs from before this migration have no manifest.
ALTER TABLE export_jobs ADD COLUMN format VARCHAR(16) NOT NULL DEFAULT 'csv';
ALTER TABLE export_jobs ADD COLUMN manifest_filename VARCHAR(255);
CREATE UNIQUE INDEX export_jobs_manifest_filename ON export_jobs (manifest_filename);
