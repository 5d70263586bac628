-- The scoring queue is claimed by lead: a claim takes the oldest queued activities and the
-- next activities queued for the same people (store.ScoringWork), so a person with fifteen
-- new activities is scored once, not in fifteen passes spread over batches. This index walks
-- a lead's queued activities in order.
CREATE INDEX scoring_queue_lead_idx ON scoring_queue (workspace_id, lead_id, activity_id);
