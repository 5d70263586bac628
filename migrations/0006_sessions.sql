-- Signed-in sessions live here; the browser's cookie holds only the workspace id and a random
-- token, stored as its keyed hash. Deleting a row signs that browser out at its next request.
CREATE TABLE user_sessions (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    user_id       bigint NOT NULL,
    token_hash    bytea NOT NULL,
    -- One-time values and flashes of the session, sealed with the server's secret key.
    data          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    -- Slides with use, never past created_at + the absolute lifetime.
    expires_at    timestamptz NOT NULL,
    user_agent    text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300),
    ip            text NOT NULL DEFAULT '' CHECK (length(ip) <= 64),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, token_hash),
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX user_sessions_user_idx ON user_sessions (workspace_id, user_id);
CREATE INDEX user_sessions_expiry_idx ON user_sessions (expires_at);

-- Each failed sign-in deletes failures older than a day: by this index, not a scan.
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);

-- Expired sessions are deleted hourly by a sweep of the work layer.
INSERT INTO jobs (workspace_id, kind, repeat_every) VALUES (0, 'sweep-sessions', interval '1 hour');
