-- Scheduled report emails: a person asks for an attribution report (its milestone, dimension
-- and model) by email every week (Mondays) or month (the 1st), covering the period just ended.
CREATE TABLE report_subscriptions (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    user_id       bigint NOT NULL,
    milestone_id  bigint NOT NULL,
    dimension     text NOT NULL CHECK (dimension IN ('campaign', 'channel', 'source', 'page')),
    model         text NOT NULL CHECK (model IN ('first', 'last', 'linear', 'u', 'w', 'decay')),
    frequency     text NOT NULL CHECK (frequency IN ('weekly', 'monthly')),
    next_at       timestamptz NOT NULL,
    last_sent_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, user_id, milestone_id, dimension, model, frequency),
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, milestone_id) REFERENCES milestones (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX report_subscriptions_due_idx ON report_subscriptions (next_at);

ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
    ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('invitation', 'password_reset', 'test', 'alert', 'digest', 'report'));

-- Due report emails are looked for every 15 minutes.
INSERT INTO jobs (workspace_id, kind, repeat_every) VALUES (0, 'sweep-reports', interval '15 minutes');
