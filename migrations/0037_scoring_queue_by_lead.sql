-- The scoring queue is claimed by lead: a claim takes the oldest queued activities and the
-- other activities queued for the same people (store.ScoringWork), so a person with fifteen
-- new activities is scored once, not in fifteen passes spread over batches. This index finds
-- a lead's queued activities.
CREATE INDEX scoring_queue_lead_idx ON scoring_queue (workspace_id, lead_id);
