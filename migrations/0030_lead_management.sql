-- Lead management: the workspace's lead statuses (ordered, one default) and sources, its
-- distribution pools (named, ordered members taken in strict round robin: next_turn is
-- advanced by UPDATE … RETURNING in the transaction that creates the lead, so every entry
-- path shares it and concurrent creations queue on the pool's row), the rules each entry
-- path follows, and a log of status and owner changes shown on the lead page.
CREATE TABLE lead_statuses (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    position      integer NOT NULL,
    is_default    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);
CREATE UNIQUE INDEX lead_statuses_default_idx ON lead_statuses (workspace_id) WHERE is_default;

CREATE TABLE lead_sources (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

CREATE TABLE distribution_pools (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    next_turn     bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

CREATE TABLE pool_members (
    workspace_id  bigint NOT NULL,
    pool_id       bigint NOT NULL,
    user_id       bigint NOT NULL,
    position      integer NOT NULL,
    PRIMARY KEY (workspace_id, pool_id, user_id),
    FOREIGN KEY (workspace_id, pool_id) REFERENCES distribution_pools (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE
);

-- How each entry path creates leads: its status and source, and who owns them (nobody, one
-- user, a pool, or whom the creator chooses).
CREATE TABLE lead_entry_rules (
    workspace_id   bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path           text NOT NULL CHECK (path IN ('manual', 'api')),
    status         text NOT NULL DEFAULT '',
    source         text NOT NULL DEFAULT '',
    owner_mode     text NOT NULL DEFAULT 'choice' CHECK (owner_mode IN ('none', 'user', 'pool', 'choice')),
    owner_user_id  bigint,
    pool_id        bigint,
    PRIMARY KEY (workspace_id, path),
    FOREIGN KEY (workspace_id, pool_id) REFERENCES distribution_pools (workspace_id, id) ON DELETE SET NULL (pool_id),
    FOREIGN KEY (workspace_id, owner_user_id) REFERENCES users (workspace_id, id) ON DELETE SET NULL (owner_user_id)
);

-- The lead's owner as a Peregrine user (owner_name and owner_email follow it; Salesforce's
-- pull may also set them), and who created it how.
ALTER TABLE leads ADD COLUMN owner_user_id bigint;

CREATE TABLE lead_changes (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    lead_id       bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('created', 'status', 'owner')),
    detail        text NOT NULL,
    by_user_id    bigint,
    by_name       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_changes_lead_idx ON lead_changes (workspace_id, lead_id, created_at DESC);

-- Every workspace starts with the usual statuses and sources.
INSERT INTO lead_statuses (workspace_id, name, position, is_default)
    SELECT w.id, s.name, s.position, s.position = 1 FROM workspaces w,
        (VALUES ('New', 1), ('Working', 2), ('Qualified', 3), ('Unqualified', 4), ('Converted', 5)) AS s(name, position);
INSERT INTO lead_sources (workspace_id, name)
    SELECT w.id, s.name FROM workspaces w, (VALUES ('Braze'), ('Website'), ('Segment'), ('API'), ('Manual'), ('Chat')) AS s(name);
INSERT INTO lead_entry_rules (workspace_id, path, status, source, owner_mode)
    SELECT w.id, p.path, 'New', p.source, 'choice' FROM workspaces w, (VALUES ('manual', 'Manual'), ('api', 'API')) AS p(path, source);
