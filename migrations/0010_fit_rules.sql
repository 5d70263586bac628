-- The grade rules a lead matches: the lead page explains its grade with them, and the rules
-- list counts the leads each grade rule gives points to.
ALTER TABLE leads ADD COLUMN fit_rules bigint[] NOT NULL DEFAULT '{}';

-- Fill them: every workspace with leads is re-scored once.
WITH v AS (
    UPDATE workspaces w SET rules_version = rules_version + 1
    WHERE EXISTS (SELECT 1 FROM leads l WHERE l.workspace_id = w.id)
    RETURNING id, rules_version),
job AS (
    INSERT INTO rescore_jobs (workspace_id, reason, rules_version, total)
    SELECT v.id, 'fit grades now name their rules', v.rules_version, (SELECT count(*) FROM leads l WHERE l.workspace_id = v.id) FROM v
    RETURNING workspace_id, id)
INSERT INTO jobs (workspace_id, kind, key) SELECT workspace_id, 'rescore', id::text FROM job;
