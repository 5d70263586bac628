-- An account's score from its three highest-scored people: a sum tracks head count, the
-- best few track interest. Chosen per score; the default stays "sum", which incremental
-- scoring keeps by adding differences (top 3 re-aggregates the account: ~3x slower per batch).
ALTER TABLE score_names DROP CONSTRAINT score_names_rollup_check,
    ADD CONSTRAINT score_names_rollup_check CHECK (rollup IN ('sum', 'max', 'decayed_sum', 'top3'));
