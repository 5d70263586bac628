-- Open API tokens (kind 'api'): what each may do (scopes) and until when. Other kinds keep an
-- empty scope list and no expiry.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check,
    ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('currents', 'segment', 'api')),
    ADD COLUMN scopes     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN expires_at timestamptz;
