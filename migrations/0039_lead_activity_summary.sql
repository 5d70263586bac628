-- A lead's activity summary (how many activities, the first and the last) is kept exact in a
-- narrow row of its own, written by the transaction that stores the activities. On the lead's
-- row it was rewritten for every batch that brought the lead an activity: last_activity_at is
-- indexed (the "recent" lead list), so each write was a new version of the wide row and an
-- entry in every one of the lead list's indexes — a third of the cost of processing an event.
-- The lead's row keeps a copy for its lists and pages, which scoring brings up to date when it
-- scores the new activities (seconds later; it rewrites the row then anyway).
-- Room is left on each page so that the updates can stay on it (HOT: the key never changes).
CREATE TABLE lead_activity (
    workspace_id       bigint NOT NULL,
    lead_id            bigint NOT NULL,
    activity_count     integer NOT NULL DEFAULT 0,
    first_activity_at  timestamptz,
    last_activity_at   timestamptz,
    PRIMARY KEY (workspace_id, lead_id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
) WITH (fillfactor = 70);

INSERT INTO lead_activity (workspace_id, lead_id, activity_count, first_activity_at, last_activity_at)
SELECT workspace_id, id, activity_count, first_activity_at, last_activity_at
FROM leads
WHERE activity_count > 0 OR last_activity_at IS NOT NULL;
