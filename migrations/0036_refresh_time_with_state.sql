-- A lead's next refresh time moves to its scoring state. It changes with nearly every
-- scoring (an edited rule that decays brings it forward for every lead the rule matched), and
-- on the lead's row it was an indexed column: every such change rewrote the wide row and all
-- of the lead list's indexes (not a HOT update). Beside the state, which those scorings
-- rewrite anyway, it costs nothing more, and a scoring that moves no sort column leaves the
-- lead's row alone.
--
-- A lead asked to be scored again before it ever was (its profile changed) gets a state row
-- with rules_version -1 and no contributions: no rules version matches it, so it is scored
-- from scratch.
ALTER TABLE lead_scoring_state ADD COLUMN refresh_at timestamptz;

UPDATE lead_scoring_state s SET refresh_at = l.refresh_at
FROM leads l
WHERE l.workspace_id = s.workspace_id AND l.id = s.lead_id AND l.refresh_at IS NOT NULL;

INSERT INTO lead_scoring_state (workspace_id, lead_id, rules_version, profile_hash, contributions, refresh_at)
SELECT l.workspace_id, l.id, -1, 0, '', l.refresh_at
FROM leads l
WHERE l.refresh_at IS NOT NULL
ON CONFLICT (workspace_id, lead_id) DO NOTHING;

CREATE INDEX lead_scoring_state_refresh_idx ON lead_scoring_state (refresh_at) WHERE refresh_at IS NOT NULL;

DROP INDEX leads_refresh_idx;
ALTER TABLE leads DROP COLUMN refresh_at;
