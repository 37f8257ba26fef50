-- Columns a consumer receives masked, per table rule: {"column": "hmac-sha256" | "null"}; NULL: none.
ALTER TABLE consumer_tables ADD COLUMN masks JSONB;
