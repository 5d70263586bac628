-- The pull pages on (SystemModstamp, Id): the id of the last record read breaks ties among
-- records sharing the watermark's timestamp.
ALTER TABLE salesforce_sync_settings ADD COLUMN pull_since_id text NOT NULL DEFAULT '';

-- A converted Lead cannot be updated; its scores go to the Contact it became.
ALTER TABLE salesforce_records ADD COLUMN contact_id text NOT NULL DEFAULT '';

-- A push may leave a lead's record alone on purpose (another lead wrote it, or it is gone).
ALTER TABLE salesforce_sync_records DROP CONSTRAINT salesforce_sync_records_outcome_check,
    ADD CONSTRAINT salesforce_sync_records_outcome_check
    CHECK (outcome IN ('created', 'updated', 'unchanged', 'failed', 'retrying', 'imported', 'enriched', 'skipped'));
