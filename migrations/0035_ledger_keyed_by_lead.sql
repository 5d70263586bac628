-- The score ledger is read per lead ("why this score", trends, digests) and by time (its
-- BRIN index); nothing reads a line by its id alone. Keyed by (workspace_id, lead_id, id), the
-- one index serves as both the key and the per-lead index it duplicated, so every line written
-- (a first scoring writes dozens per lead) updates two indexes instead of three. The key still
-- leads with workspace_id (Citus: docs/scaling.md).
ALTER TABLE score_ledger DROP CONSTRAINT score_ledger_pkey;
ALTER TABLE score_ledger ADD PRIMARY KEY (workspace_id, lead_id, id);
DROP INDEX score_ledger_lead_idx;
