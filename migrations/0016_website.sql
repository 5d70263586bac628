-- The website tracker: sites a workspace tracks, the browsers (visitors) seen on them, how each
-- browser came to be known as a person (identity links, undoable), and tracked links for sales.

-- A tracked site. The key is public (it is in the snippet) and names its workspace, so the
-- collect endpoint finds the site without a cross-tenant lookup.
CREATE TABLE sites (
    workspace_id     bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    key              text NOT NULL,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    origins          text[] NOT NULL,
    require_consent  boolean NOT NULL DEFAULT false,
    honour_dnt       boolean NOT NULL DEFAULT true,
    excluded_ips     text[] NOT NULL DEFAULT '{}',
    retention_days   integer NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 3650),
    link_days        integer NOT NULL DEFAULT 30 CHECK (link_days BETWEEN 1 AND 3650),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, key)
);

-- "Check installation": the last hit seen from each origin of a site.
CREATE TABLE site_origins_seen (
    workspace_id  bigint NOT NULL,
    site_id       bigint NOT NULL,
    origin        text NOT NULL,
    last_hit_at   timestamptz NOT NULL,
    hits          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, site_id, origin),
    FOREIGN KEY (workspace_id, site_id) REFERENCES sites (workspace_id, id) ON DELETE CASCADE
);

-- A browser, known by the first-party visitor id the tracker keeps in its cookie. lead_id is
-- the person its new activity belongs to (the newest identification wins); internal browsers
-- (the workspace's own people) never belong to a lead.
CREATE TABLE visitors (
    workspace_id   bigint NOT NULL,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    key            text NOT NULL,
    site_id        bigint NOT NULL,
    lead_id        bigint,
    internal       boolean NOT NULL DEFAULT false,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, key)
);
CREATE INDEX visitors_lead_idx ON visitors (workspace_id, lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX visitors_anonymous_idx ON visitors (workspace_id, last_seen_at) WHERE lead_id IS NULL;

-- Activities of a browser before (or without) its person being known keep lead_id empty.
ALTER TABLE activities ALTER COLUMN lead_id DROP NOT NULL;
ALTER TABLE activities ADD COLUMN visitor_id bigint;
CREATE INDEX activities_visitor_idx ON activities (workspace_id, visitor_id) WHERE visitor_id IS NOT NULL;

-- Every time a browser was tied to a person, with the reason; undone links stay for the record.
CREATE TABLE identity_links (
    workspace_id   bigint NOT NULL,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    visitor_id     bigint NOT NULL,
    lead_id        bigint NOT NULL,
    reason         text NOT NULL CHECK (reason IN ('form', 'braze_link', 'tracked_link', 'api', 'cli')),
    detail         text NOT NULL DEFAULT '',
    -- the lead this browser belonged to before, when this identification replaced another person
    replaced_lead_id bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    undone_at      timestamptz,
    undone_by      bigint,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX identity_links_lead_idx ON identity_links (workspace_id, lead_id);
CREATE INDEX identity_links_visitor_idx ON identity_links (workspace_id, visitor_id);

-- Pairs a person undid: never linked again automatically.
CREATE TABLE identity_blocks (
    workspace_id  bigint NOT NULL,
    visitor_id    bigint NOT NULL,
    lead_id       bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, visitor_id, lead_id)
);

-- A link a rep sends to a lead: /l/<token> redirects to target with pgr_l=<token>, which the
-- tracker on the site reads to identify the browser.
CREATE TABLE tracked_links (
    workspace_id   bigint NOT NULL,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    token          text NOT NULL,
    lead_id        bigint NOT NULL,
    site_id        bigint NOT NULL,
    target         text NOT NULL,
    created_by     bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    clicks         integer NOT NULL DEFAULT 0,
    last_click_at  timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, token),
    FOREIGN KEY (workspace_id, site_id) REFERENCES sites (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX tracked_links_lead_idx ON tracked_links (workspace_id, lead_id);

-- Anonymous browsers past their site's retention are deleted hourly by a sweep of the work layer.
INSERT INTO jobs (workspace_id, kind, repeat_every) VALUES (0, 'sweep-visitors', interval '1 hour');
