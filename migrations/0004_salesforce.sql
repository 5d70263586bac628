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
