-- An account's temperature is its hottest person's: probed per temperature through this index,
-- which also serves everything the plain (workspace_id, account_id) index did.
CREATE INDEX leads_account_temperature_idx ON leads (workspace_id, account_id, temperature);
DROP INDEX leads_account_idx;
