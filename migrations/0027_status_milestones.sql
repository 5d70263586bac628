-- A milestone may be a Salesforce lead status pulled back (Lead Status = Qualified): the pull
-- records the crossing when a lead's status becomes the value.
ALTER TABLE milestones DROP CONSTRAINT milestones_kind_check,
    ADD CONSTRAINT milestones_kind_check CHECK (kind IN ('score', 'label', 'grade', 'status'));
