-- Upkeep's last rewrite of each Iceberg table (equality deletes compacted), for the console: when, and what it
-- replaced. NULL until the table's first rewrite.
ALTER TABLE iceberg_upkeep
    ADD COLUMN rewritten_at          TIMESTAMPTZ,
    ADD COLUMN rewritten_data_files  INT,
    ADD COLUMN rewritten_delete_files INT,
    ADD COLUMN rewrite_data_files    INT;
