-- Where each source transaction the log-based decoder logged committed in the WAL: the start and the end of its
-- commit record. An export that reads on a hot standby needs them to tell which of those transactions its snapshot
-- sees (the standby's snapshot does not say, and their entries are written after them); see docs/capture.md,
-- "Log-based capture on a standby". Entries written by triggers leave both NULL. Adding nullable columns without a
-- default rewrites nothing.
ALTER TABLE change_log
    ADD COLUMN commit_lsn     PG_LSN,
    ADD COLUMN commit_end_lsn PG_LSN;
