-- Alerts about accounts: an account gains a label, its rolled-up score crosses a threshold,
-- or N of its people were active in the last 7 days. Such an alert names the account, not a
-- lead; the throttle holds per account.
ALTER TABLE alerts ALTER COLUMN lead_id DROP NOT NULL,
    ADD COLUMN account_id bigint,
    ADD CONSTRAINT alerts_account_fk FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT alerts_subject_check CHECK ((lead_id IS NULL) <> (account_id IS NULL));
CREATE INDEX alerts_account_throttle_idx ON alerts (workspace_id, rule_id, account_id, created_at DESC) WHERE NOT folded AND account_id IS NOT NULL;
