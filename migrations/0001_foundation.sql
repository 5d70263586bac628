-- Workspaces are the tenants. Every tenant table below carries workspace_id first in its
-- primary key so the schema can be distributed by workspace (Citus) later.
CREATE TABLE workspaces (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    public_url  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    workspace_id   bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    email          text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('admin', 'marketer', 'sales')),
    password_hash  text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, email)
);
-- Login looks a person up by email before it knows the workspace.
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE invitations (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    email         text NOT NULL CHECK (email = lower(email)),
    role          text NOT NULL CHECK (role IN ('admin', 'marketer', 'sales')),
    token_hash    bytea NOT NULL,
    invited_by    bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    accepted_at   timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, token_hash),
    FOREIGN KEY (workspace_id, invited_by) REFERENCES users (workspace_id, id)
);

-- Failed logins per email+client address, shared by every web process so throttling holds
-- behind a load balancer. Not a tenant table: it is written before anyone is signed in.
CREATE TABLE login_failures (
    throttle_key  text NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON login_failures (throttle_key, failed_at);

-- Leads: the people sales works with. Ingest (Braze, web tracking) fills this table.
CREATE TABLE leads (
    workspace_id      bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                bigint GENERATED ALWAYS AS IDENTITY,
    email             text NOT NULL CHECK (email = lower(email)),
    first_name        text NOT NULL DEFAULT '',
    last_name         text NOT NULL DEFAULT '',
    company           text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_activity_at  timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, email)
);
