-- Braze: Currents tokens, the REST connection, the durable inbound log, and what ingest
-- builds from it (leads with identities, accounts, activities).
--
-- The high-volume tables (inbound_events, inbound_rejects, activities, lead_identities) carry
-- no foreign keys: every row is written by one ingest transaction together with the rows it
-- refers to, and a foreign-key check per row would cost a lookup and a KEY SHARE lock on the
-- referenced row (the workspace row, shared by every concurrent batch). Measured: the checks
-- made processing slow down as tables grew (plans cached while the tables were empty).

ALTER TABLE leads
    ADD COLUMN phone             text NOT NULL DEFAULT '',
    ADD COLUMN country           text NOT NULL DEFAULT '',
    ADD COLUMN time_zone         text NOT NULL DEFAULT '',
    ADD COLUMN custom_attributes jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN account_id        bigint,
    ADD COLUMN first_activity_at timestamptz,
    ADD COLUMN activity_count    integer NOT NULL DEFAULT 0,
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now();
CREATE INDEX leads_recent_idx ON leads (workspace_id, last_activity_at DESC NULLS LAST, id DESC);

-- One account per company email domain.
CREATE TABLE accounts (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    domain        text NOT NULL,
    name          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, domain)
);
CREATE INDEX leads_account_idx ON leads (workspace_id, account_id);

-- Ways to recognise a lead: Braze user id, the customer's external id, phone.
CREATE TABLE lead_identities (
    workspace_id  bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('braze_user_id', 'external_id', 'phone')),
    value         text NOT NULL,
    lead_id       bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX lead_identities_lead_idx ON lead_identities (workspace_id, lead_id);

-- Bearer tokens for machine clients. Only a SHA-256 hash is kept; the token names its
-- workspace so the lookup stays within one workspace's rows.
CREATE TABLE api_tokens (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL CHECK (kind IN ('currents')),
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    token_hash    bytea NOT NULL,
    hint          text NOT NULL,
    created_by    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, token_hash)
);

-- The Braze REST connection of a workspace. The key is encrypted (AES-256-GCM).
CREATE TABLE braze_connections (
    workspace_id       bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    rest_endpoint      text NOT NULL,
    api_key_encrypted  bytea NOT NULL,
    api_key_hint       text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_test_at       timestamptz,
    last_test_ok       boolean,
    last_test_message  text NOT NULL DEFAULT '',
    -- Set while Braze refuses our key; lookups pause until the key changes or the time passes.
    lookup_error       text NOT NULL DEFAULT '',
    lookups_paused_until timestamptz
);

-- The durable log every source writes into before it acknowledges. Rows are written once
-- and never updated: state records how the event was routed when it arrived (pending: to be
-- processed; ignored: a type Peregrine stores but does not score). What happens next lives in
-- the narrow tables below, so processing never rewrites the payload row.
CREATE TABLE inbound_events (
    workspace_id      bigint NOT NULL,
    id                bigint GENERATED ALWAYS AS IDENTITY,
    source            text NOT NULL,
    event_id          text NOT NULL,
    event_type        text NOT NULL,
    occurred_at       timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    payload           text NOT NULL,
    state             text NOT NULL CHECK (state IN ('pending', 'ignored')),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, source, event_id)
);

-- Events waiting to be processed; a worker deletes the row when the event became its
-- activity or went to inbound_waiting.
CREATE TABLE inbound_queue (
    workspace_id  bigint NOT NULL,
    event_row_id  bigint NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, event_row_id)
);
CREATE INDEX inbound_queue_order_idx ON inbound_queue (event_row_id);

-- Processed events whose person is not known yet, keyed by the identifiers that release them.
CREATE TABLE inbound_waiting (
    workspace_id      bigint NOT NULL,
    event_row_id      bigint NOT NULL,
    braze_user_id     text NOT NULL DEFAULT '',
    external_user_id  text NOT NULL DEFAULT '',
    phone             text NOT NULL DEFAULT '',
    reason            text NOT NULL,
    since             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, event_row_id)
);
CREATE INDEX inbound_waiting_user_idx ON inbound_waiting (workspace_id, braze_user_id) WHERE braze_user_id <> '';
CREATE INDEX inbound_waiting_ext_idx ON inbound_waiting (workspace_id, external_user_id) WHERE external_user_id <> '';
CREATE INDEX inbound_waiting_phone_idx ON inbound_waiting (workspace_id, phone) WHERE phone <> '';

-- Events of an accepted batch that could not be decoded: kept for inspection, never scored.
CREATE TABLE inbound_rejects (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    source        text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    reason        text NOT NULL,
    raw           text NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- Hourly counters behind the status panel.
CREATE TABLE ingest_counters (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    hour          timestamptz NOT NULL,
    metric        text NOT NULL,
    event_type    text NOT NULL DEFAULT '',
    count         bigint NOT NULL,
    PRIMARY KEY (workspace_id, hour, metric, event_type)
);

CREATE TABLE ingest_status (
    workspace_id       bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    last_batch_at      timestamptz,
    last_batch_events  integer NOT NULL DEFAULT 0
);

-- Braze /users/export/ids lookups: one row per identifier, remembering the answer so a known
-- Braze user is not looked up again for every event.
CREATE TABLE braze_lookups (
    workspace_id     bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('external_id', 'braze_id', 'phone')),
    value            text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'found', 'no_email', 'not_found')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX braze_lookups_due_idx ON braze_lookups (next_attempt_at) WHERE state <> 'found';

-- What each event became. One event, one activity: the activity's id is its event's row id,
-- which makes a second activity for an event impossible.
CREATE TABLE activities (
    workspace_id      bigint NOT NULL,
    id                bigint NOT NULL,
    lead_id           bigint NOT NULL,
    occurred_at       timestamptz NOT NULL,
    source            text NOT NULL,
    event_type        text NOT NULL,
    name              text NOT NULL,
    campaign_id       text NOT NULL DEFAULT '',
    campaign_name     text NOT NULL DEFAULT '',
    canvas_id         text NOT NULL DEFAULT '',
    canvas_name       text NOT NULL DEFAULT '',
    url               text NOT NULL DEFAULT '',
    properties        jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX activities_timeline_idx ON activities (workspace_id, lead_id, occurred_at DESC, id DESC);
