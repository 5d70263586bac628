-- An account's fit (the grade rules applied to the company alone) and temperature (its
-- hottest person's), for the accounts list and page.
ALTER TABLE accounts
    ADD COLUMN fit_points  double precision NOT NULL DEFAULT 0,
    ADD COLUMN grade       text NOT NULL DEFAULT 'F',
    ADD COLUMN temperature text NOT NULL DEFAULT 'frozen';
-- Fill them: every workspace with accounts is re-scored once (its roll-up sets both).
WITH v AS (
    UPDATE workspaces w SET rules_version = rules_version + 1
    WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.workspace_id = w.id)
    RETURNING id, rules_version),
job AS (
    INSERT INTO rescore_jobs (workspace_id, reason, rules_version, total)
    SELECT v.id, 'accounts get a fit grade and a temperature', v.rules_version, (SELECT count(*) FROM leads l WHERE l.workspace_id = v.id) FROM v
    RETURNING workspace_id, id)
INSERT INTO jobs (workspace_id, kind, key) SELECT workspace_id, 'rescore', id::text FROM job
ON CONFLICT DO NOTHING;
