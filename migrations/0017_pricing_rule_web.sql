-- The default "Pricing page viewed" score rule and "Pricing this week" label matched any
-- activity whose name contains "pricing" — an email campaign called "Pricing update 2026"
-- counted as a pricing page visit. Workspaces that still have the rule as shipped get the new
-- condition: a website page whose path contains "pricing", or a Braze custom event named so.
-- A rule a person edited is left alone. Changed workspaces re-score in the background.

CREATE TEMPORARY TABLE pricing_rules_changed ON COMMIT DROP AS
SELECT workspace_id, id, name FROM rules
WHERE deleted_at IS NULL
  AND name IN ('Pricing page viewed', 'Pricing this week')
  AND definition->'when'->>'combinator' = 'and'
  AND (
    (name = 'Pricing page viewed'
      AND jsonb_array_length(definition->'when'->'rules') = 1
      AND definition->'when'->'rules'->0 @> '{"field": "event.name", "operator": "contains", "value": "pricing"}')
    OR
    (name = 'Pricing this week'
      AND jsonb_array_length(definition->'when'->'rules') = 2
      AND definition->'when'->'rules'->0 @> '{"field": "event.name", "operator": "contains", "value": "pricing"}'
      AND definition->'when'->'rules'->1 @> '{"field": "event.time", "operator": "within_last_days"}')
  );

UPDATE rules r SET
    version = r.version + 1,
    updated_at = now(),
    definition = jsonb_set(r.definition, CASE WHEN c.name = 'Pricing page viewed' THEN '{when}' ELSE '{when,rules,0}' END::text[],
        '{"combinator": "or", "rules": [
        {"field": "web.path", "operator": "contains", "value": "pricing"},
        {"combinator": "and", "rules": [
            {"field": "event.type", "operator": "equals", "value": "users.behaviors.CustomEvent"},
            {"field": "event.name", "operator": "contains", "value": "pricing"}]}]}')
FROM pricing_rules_changed c
WHERE r.workspace_id = c.workspace_id AND r.id = c.id;

INSERT INTO rule_versions (workspace_id, rule_id, version, definition)
SELECT r.workspace_id, r.id, r.version, r.definition
FROM rules r JOIN pricing_rules_changed c ON c.workspace_id = r.workspace_id AND c.id = r.id;

-- As a rule change in the app does: supersede pending re-scoring, move the rules version,
-- queue one re-scoring job per workspace.
UPDATE rescore_jobs SET state = 'superseded', finished_at = now()
WHERE state IN ('queued', 'running') AND workspace_id IN (SELECT workspace_id FROM pricing_rules_changed);

UPDATE workspaces SET rules_version = rules_version + 1
WHERE id IN (SELECT workspace_id FROM pricing_rules_changed);

WITH job AS (
    INSERT INTO rescore_jobs (workspace_id, reason, rules_version, total)
    SELECT w.id, 'the default "Pricing page viewed" rule no longer matches email campaigns named "pricing"', w.rules_version,
        (SELECT count(*) FROM leads l WHERE l.workspace_id = w.id)
    FROM workspaces w WHERE w.id IN (SELECT workspace_id FROM pricing_rules_changed)
    RETURNING workspace_id, id)
INSERT INTO jobs (workspace_id, kind, key) SELECT workspace_id, 'rescore', id::text FROM job;
