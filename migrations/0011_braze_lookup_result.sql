-- The latest lookup call's outcome: the Braze page's status shows the last real result of
-- talking to Braze, a test or a lookup, whichever came last.
ALTER TABLE braze_connections
    ADD COLUMN last_lookup_at      timestamptz,
    ADD COLUMN last_lookup_ok      boolean,
    ADD COLUMN last_lookup_message text NOT NULL DEFAULT '';
