-- The pull pages on (SystemModstamp, Id): the id of the last record read breaks ties among
-- records sharing the watermark's timestamp.
ALTER TABLE salesforce_sync_settings ADD COLUMN pull_since_id text NOT NULL DEFAULT '';

-- A converted Lead cannot be updated; its scores go to the Contact it became.
ALTER TABLE salesforce_records ADD COLUMN contact_id text NOT NULL DEFAULT '';

-- A push may leave a lead's record alone on purpose (another lead wrote it, or it is gone).
ALTER TABLE salesforce_sync_records DROP CONSTRAINT salesforce_sync_records_outcome_check,
    ADD CONSTRAINT salesforce_sync_records_outcome_check
    CHECK (outcome IN ('created', 'updated', 'unchanged', 'failed', 'retrying', 'imported', 'enriched', 'skipped'));

-- Earlier pulls imported Peregrine's own placeholder as names and companies: undo that.
UPDATE leads l SET
    last_name = CASE WHEN l.last_name = s.placeholder THEN '' ELSE l.last_name END,
    company = CASE WHEN l.company = s.placeholder THEN '' ELSE l.company END
FROM salesforce_sync_settings s
WHERE s.workspace_id = l.workspace_id AND s.placeholder <> '' AND (l.last_name = s.placeholder OR l.company = s.placeholder);
