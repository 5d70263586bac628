-- A lead list's order, fixed when its first page is shown: later pages read from it, so each
-- lead appears exactly once however scores move meanwhile. Kept for an hour.
CREATE TABLE list_snapshots (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token         text NOT NULL,
    user_id       bigint NOT NULL,
    lead_ids      bigint[] NOT NULL,
    capped        boolean NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, token)
);
CREATE INDEX list_snapshots_created_idx ON list_snapshots (created_at);

INSERT INTO jobs (workspace_id, kind, repeat_every) VALUES (0, 'sweep-list-snapshots', interval '15 minutes');
