-- An account's score from its three highest-scored people: a sum tracks head count, the
-- best few track interest. New scores roll up this way; existing ones keep theirs.
ALTER TABLE score_names DROP CONSTRAINT score_names_rollup_check,
    ADD CONSTRAINT score_names_rollup_check CHECK (rollup IN ('sum', 'max', 'decayed_sum', 'top3'));
ALTER TABLE score_names ALTER COLUMN rollup SET DEFAULT 'top3';
