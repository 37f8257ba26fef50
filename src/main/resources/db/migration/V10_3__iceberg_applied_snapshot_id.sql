-- With a REST catalog the Iceberg commit is not part of the export's transaction, so "the last export that moved
-- the watermark was applied to the table" needs the table's own word as well: the Iceberg snapshot that export
-- left the table at (kept through empty windows, which make no snapshot). A table whose latest snapshot of the
-- consumer is another one was rolled back, replaced or written by someone else, and is read whole. NULL: the
-- embedded catalog, where the swap and this row commit together. See docs/capture.md.
ALTER TABLE iceberg_applied ADD COLUMN iceberg_snapshot_id BIGINT;
