-- Everything Peregrine sends to people (emails now; Slack messages and webhooks with alerts)
-- is a delivery: a row of the delivery log people read (to whom, what, when, how it went) and
-- an item of delivery_queue, which the work layer claims, leases, retries and quarantines.
-- The message itself is sealed with the server's secret key: it may hold a one-time link.
CREATE TABLE deliveries (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    channel       text NOT NULL CHECK (channel IN ('email')),
    kind          text NOT NULL CHECK (kind IN ('invitation', 'password_reset', 'test')),
    recipient     text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    message       bytea NOT NULL,
    state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    created_by    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX deliveries_log_idx ON deliveries (workspace_id, id DESC);

CREATE TABLE delivery_queue (
    workspace_id  bigint NOT NULL,
    delivery_id   bigint NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    run_after     timestamptz NOT NULL DEFAULT now(),
    claim         bigint,
    last_error    text NOT NULL DEFAULT '',
    queued_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, delivery_id),
    FOREIGN KEY (workspace_id, delivery_id) REFERENCES deliveries (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX delivery_queue_due_idx ON delivery_queue (workspace_id, run_after);
ALTER TABLE delivery_queue SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Password resets: a single-use link valid one hour, stored hashed like invitations.
CREATE TABLE password_resets (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    user_id       bigint NOT NULL,
    token_hash    bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, token_hash),
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX password_resets_user_idx ON password_resets (workspace_id, user_id, created_at);
