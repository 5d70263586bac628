-- Segment intake: a workspace's Segment source holds the optional shared secret Segment signs
-- messages with (X-Signature; encrypted with the server key); its bearer tokens are API tokens
-- of kind 'segment'. Segment's anonymousId and userId become visitors (keys "seg:a:…" and
-- "seg:u:…", site 0), so the website's identity graph serves both: history before an identify
-- attaches to the person, and a marketer can undo an identification.
CREATE TABLE segment_sources (
    workspace_id  bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    secret_enc    bytea,
    secret_hint   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check,
    ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('currents', 'segment'));

ALTER TABLE identity_links DROP CONSTRAINT identity_links_reason_check,
    ADD CONSTRAINT identity_links_reason_check CHECK (reason IN ('form', 'braze_link', 'tracked_link', 'api', 'cli', 'segment'));
