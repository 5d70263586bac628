-- Scores written back into Braze as custom attributes (POST /users/track). The settings say
-- which values go under which attribute names; the outbox holds leads whose values changed
-- (one row per lead, coalesced like the Salesforce outbox); braze_written keeps what was last
-- written per lead, so only changed attributes are sent (Braze bills data points).
CREATE TABLE braze_writeback (
    workspace_id   bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    enabled        boolean NOT NULL DEFAULT false,
    attributes     jsonb NOT NULL DEFAULT '{}',
    last_sent_at   timestamptz,
    sent_leads     bigint NOT NULL DEFAULT 0,
    requests       bigint NOT NULL DEFAULT 0,
    last_error     text NOT NULL DEFAULT '',
    last_error_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE braze_outbox (
    workspace_id  bigint NOT NULL,
    lead_id       bigint NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    run_after     timestamptz NOT NULL DEFAULT now(),
    claim         bigint,
    last_error    text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, lead_id)
);
CREATE INDEX braze_outbox_due_idx ON braze_outbox (workspace_id, run_after);

CREATE TABLE braze_written (
    workspace_id  bigint NOT NULL,
    lead_id       bigint NOT NULL,
    attributes    jsonb NOT NULL,
    error         text NOT NULL DEFAULT '',
    written_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, lead_id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
