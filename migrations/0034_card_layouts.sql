-- Sales cards: which fields the lead list's rows, a person's header (and alerts) and the
-- companies' rows and header show, in order. The draft is edited; pages read the published
-- layout (none yet: the defaults).
CREATE TABLE card_layouts (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object        text NOT NULL CHECK (object IN ('leads', 'people', 'companies')),
    draft         text[] NOT NULL,
    draft_by      text NOT NULL DEFAULT '',
    draft_at      timestamptz NOT NULL DEFAULT now(),
    published     text[],
    published_by  text NOT NULL DEFAULT '',
    published_at  timestamptz,
    PRIMARY KEY (workspace_id, object)
);
