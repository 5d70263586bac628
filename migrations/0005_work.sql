-- The work layer (domain/queue): every queue table carries the same work columns, and one
-- piece of code claims, leases, retries and quarantines their rows.
--
--   attempts    claims of the item that did not finish it (a claim counts one; work that
--               only waits — a rate limit, a pause — gives it back)
--   run_after   when the item may be claimed next: now for new work, the lease's end while
--               a worker holds it, the backoff's end after a failure
--   claim       the token of the claim holding the item; the worker's transaction locks its
--               items by this token, so an item whose lease ran out and was claimed again is
--               never finished twice
--   last_error  why the last attempt failed (shown, logged once)
--
-- Claims are always within one workspace (Citus: a single-shard query), round-robin across
-- the workspaces that have due work.

ALTER TABLE inbound_queue
    ADD COLUMN attempts    integer NOT NULL DEFAULT 0,
    ADD COLUMN run_after   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN claim       bigint,
    ADD COLUMN last_error  text NOT NULL DEFAULT '';
-- Claims walk the primary key (workspace, event order); run_after is not indexed so a claim's
-- update stays a heap-only update, and the room per page keeps it so.
DROP INDEX inbound_queue_order_idx;
ALTER TABLE inbound_queue SET (fillfactor = 70);

ALTER TABLE scoring_queue
    ADD COLUMN attempts    integer NOT NULL DEFAULT 0,
    ADD COLUMN run_after   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN claim       bigint,
    ADD COLUMN last_error  text NOT NULL DEFAULT '';
DROP INDEX scoring_queue_order_idx;
ALTER TABLE scoring_queue SET (fillfactor = 70);

-- Queues churn: every item is inserted, claimed and deleted within seconds. Vacuum and
-- analyze them (and the event log feeding them) after a small share of changes, so claims do
-- not wade through dead rows and plans follow the backlog's size.
ALTER TABLE inbound_queue SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
ALTER TABLE scoring_queue SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
ALTER TABLE inbound_events SET (autovacuum_analyze_scale_factor = 0.02);

-- Braze lookups are a cache of answers as well as a queue: a row is asked about again on a
-- schedule (found: in a year; not found yet: 10 minutes, an hour, 6 hours, then daily). asked
-- counts the questions; attempts counts failures.
ALTER TABLE braze_lookups ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE braze_lookups ADD CONSTRAINT braze_lookups_id_key UNIQUE (workspace_id, id);
ALTER TABLE braze_lookups RENAME COLUMN next_attempt_at TO run_after;
ALTER TABLE braze_lookups ADD COLUMN asked integer NOT NULL DEFAULT 0, ADD COLUMN claim bigint;
UPDATE braze_lookups SET asked = attempts, attempts = 0;
DROP INDEX braze_lookups_due_idx;
CREATE INDEX braze_lookups_due_idx ON braze_lookups (workspace_id, run_after);

ALTER TABLE salesforce_outbox RENAME COLUMN next_attempt_at TO run_after;
ALTER TABLE salesforce_outbox ADD COLUMN claim bigint;
DROP INDEX salesforce_outbox_due_idx;
CREATE INDEX salesforce_outbox_due_idx ON salesforce_outbox (workspace_id, run_after);

-- Jobs: the low-volume work of a workspace (a re-scoring, a Salesforce pull, refreshing aged
-- scores, placing temperatures) and, under workspace 0, the server's periodic sweeps that
-- find such work. A periodic job runs again repeat_every after each run.
CREATE TABLE jobs (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL,
    key           text NOT NULL DEFAULT '',
    repeat_every  interval,
    attempts      integer NOT NULL DEFAULT 0,
    run_after     timestamptz NOT NULL DEFAULT now(),
    claim         bigint,
    last_error    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, kind, key)
);
CREATE INDEX jobs_due_idx ON jobs (workspace_id, run_after);

INSERT INTO jobs (workspace_id, kind, repeat_every) VALUES
    (0, 'sweep-refresh', interval '30 seconds'),
    (0, 'sweep-reheat', interval '30 seconds'),
    (0, 'sweep-salesforce-reconcile', interval '1 minute'),
    (0, 'sweep-salesforce-pull', interval '20 seconds');

-- Re-scoring jobs still open carry on as jobs.
INSERT INTO jobs (workspace_id, kind, key)
SELECT workspace_id, 'rescore', id::text FROM rescore_jobs WHERE state IN ('queued', 'running');

-- Items that kept failing, set aside with their row as it was, so the rest of their queue
-- flows on. Retry puts the row back; discard drops it (each queue says what that means).
CREATE TABLE work_quarantine (
    workspace_id    bigint NOT NULL,
    queue           text NOT NULL,
    item_id         bigint NOT NULL,
    item            jsonb NOT NULL,
    attempts        integer NOT NULL,
    reason          text NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, queue, item_id)
);
