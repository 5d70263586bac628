-- A lead's named scores are read and written by lead (scoring reads a batch of leads' scores,
-- lead pages and cards show one lead's); lists sort by the order index. Keyed by
-- (workspace_id, lead_id, score_id), the key serves as the per-lead index it duplicated, so
-- each score a scoring changes updates two indexes instead of three. The key still leads with
-- workspace_id (Citus: docs/scaling.md); ON CONFLICT (workspace_id, score_id, lead_id) infers
-- the same unique index, whatever the order of its columns.
ALTER TABLE lead_scores DROP CONSTRAINT lead_scores_pkey;
ALTER TABLE lead_scores ADD PRIMARY KEY (workspace_id, lead_id, score_id);
DROP INDEX lead_scores_lead_idx;
