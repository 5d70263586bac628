-- Re-scoring after a rule edit considers only the leads the rule can match: each rule keeps
-- what one of a lead's activities must look like for it to match (derived when the rule is
-- saved; NULL when nothing can be derived), and a re-scoring job may carry the union of the
-- old and new versions' filters (NULL: every lead).
ALTER TABLE rules ADD COLUMN activity_filter jsonb;
ALTER TABLE rescore_jobs ADD COLUMN lead_filter jsonb;
