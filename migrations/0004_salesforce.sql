-- Salesforce: a workspace's connected app, its tokens (encrypted), and what the status panel
-- shows. One row per workspace.
CREATE TABLE salesforce_connections (
    workspace_id          bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    login_host            text NOT NULL,
    api_version           text NOT NULL,
    consumer_key          text NOT NULL,
    consumer_secret_enc   bytea NOT NULL,
    -- Set once connected: 'oauth' (web server flow) or 'password' (legacy).
    auth_method           text CHECK (auth_method IN ('oauth', 'password')),
    access_token_enc      bytea,
    refresh_token_enc     bytea,
    password_username     text NOT NULL DEFAULT '',
    password_enc          bytea,  -- password followed by the security token (legacy flow)
    instance_url          text NOT NULL DEFAULT '',
    identity_url          text NOT NULL DEFAULT '',
    username              text NOT NULL DEFAULT '',
    display_name          text NOT NULL DEFAULT '',
    org_id                text NOT NULL DEFAULT '',
    connected_at          timestamptz,
    -- The last failure, in plain words; empty while healthy.
    problem_code          text NOT NULL DEFAULT '',
    problem_cause         text NOT NULL DEFAULT '',
    problem_fix           text NOT NULL DEFAULT '',
    problem_at            timestamptz,
    paused_until          timestamptz,
    -- Sforce-Limit-Info as last seen, and the share of the daily allowance Peregrine may use.
    api_used              integer,
    api_max               integer,
    api_usage_at          timestamptz,
    api_share_percent     integer NOT NULL DEFAULT 50 CHECK (api_share_percent BETWEEN 1 AND 100),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- What is synced: the destination object, the pair of fields that identifies a person, the
-- options, and the field mapping.
CREATE TABLE salesforce_sync_settings (
    workspace_id          bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    object                text NOT NULL DEFAULT 'Lead',
    match_field           text NOT NULL DEFAULT 'Email',
    get_details           boolean NOT NULL DEFAULT true,
    create_missing        boolean NOT NULL DEFAULT true,
    update_existing       boolean NOT NULL DEFAULT true,
    push_on_change        boolean NOT NULL DEFAULT true,
    placeholder           text NOT NULL DEFAULT '[not provided]',
    reconcile_hours       integer NOT NULL DEFAULT 2 CHECK (reconcile_hours BETWEEN 1 AND 168),
    last_reconcile_at     timestamptz,
    -- Pull: import Leads or Contacts changed since the watermark (SystemModstamp).
    pull_enabled          boolean NOT NULL DEFAULT false,
    pull_object           text NOT NULL DEFAULT 'Lead' CHECK (pull_object IN ('Lead', 'Contact')),
    pull_filter_field     text NOT NULL DEFAULT '',
    pull_every_minutes    integer NOT NULL DEFAULT 15 CHECK (pull_every_minutes BETWEEN 1 AND 1440),
    pull_since            timestamptz,
    last_pull_at          timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE salesforce_field_map (
    workspace_id     bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    peregrine_field  text NOT NULL,
    salesforce_field text NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('to_salesforce', 'from_salesforce', 'both')),
    PRIMARY KEY (workspace_id, peregrine_field)
);

-- Leads whose mapped values changed and wait to be pushed, one row per lead however often it
-- changed (coalescing). A push deletes the row in the transaction that records the outcome, so
-- a crash loses nothing.
CREATE TABLE salesforce_outbox (
    workspace_id     bigint NOT NULL,
    lead_id          bigint NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, lead_id)
);
CREATE INDEX salesforce_outbox_due_idx ON salesforce_outbox (next_attempt_at);

-- What Peregrine knows of each lead's Salesforce record: its id, the hash of the values last
-- written (unchanged values are not sent again), and a record-level failure that waits for
-- the lead's data to change.
CREATE TABLE salesforce_records (
    workspace_id    bigint NOT NULL,
    lead_id         bigint NOT NULL,
    object          text NOT NULL,
    salesforce_id   text NOT NULL DEFAULT '',
    pushed_hash     text NOT NULL DEFAULT '',
    failed_hash     text NOT NULL DEFAULT '',
    failure         text NOT NULL DEFAULT '',
    pushed_at       timestamptz,
    PRIMARY KEY (workspace_id, lead_id)
);

-- The sync log: runs and their per-record outcomes.
CREATE TABLE salesforce_sync_runs (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL CHECK (kind IN ('push', 'pull')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    records       integer NOT NULL DEFAULT 0,
    created       integer NOT NULL DEFAULT 0,
    updated       integer NOT NULL DEFAULT 0,
    failed        integer NOT NULL DEFAULT 0,
    api_calls     integer NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX salesforce_sync_runs_recent_idx ON salesforce_sync_runs (workspace_id, id DESC);

CREATE TABLE salesforce_sync_records (
    workspace_id   bigint NOT NULL,
    run_id         bigint NOT NULL,
    lead_id        bigint NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('created', 'updated', 'unchanged', 'failed', 'retrying', 'imported', 'enriched')),
    salesforce_id  text NOT NULL DEFAULT '',
    message        text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, run_id, lead_id)
);
CREATE INDEX salesforce_sync_records_failed_idx ON salesforce_sync_records (workspace_id, run_id) WHERE outcome = 'failed';

-- Sync-now progress: leads queued by the run and how many are done.
CREATE TABLE salesforce_sync_jobs (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    total         integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
