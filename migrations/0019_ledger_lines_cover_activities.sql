-- A ledger line may cover several activities: a scoring that gives a rule's points for many
-- activities at once (a lead's first scoring, a burst) writes one line per rule version and
-- direction, with each activity's id, time and points in these arrays (activity_id and
-- earned_at then hold NULL and the first time). A first scoring of 20 activities per lead
-- writes about a fifth of the rows it did, and "why this score" stays exact.
ALTER TABLE score_ledger
    ADD COLUMN activity_ids bigint[],
    ADD COLUMN earned_ats   timestamptz[],
    ADD COLUMN deltas       double precision[],
    ADD CONSTRAINT score_ledger_covers_check CHECK (activity_ids IS NULL OR
        (cardinality(activity_ids) = cardinality(deltas) AND cardinality(earned_ats) = cardinality(deltas)));
