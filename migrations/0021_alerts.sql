-- Alerts: rules that tell people when a lead does something worth a call, the channels they
-- go out through besides email (Slack incoming webhooks, signed webhooks), and every time a
-- rule fired for a lead.

-- Slack incoming webhooks and webhook endpoints. URL and signing secret are sealed with the
-- server's secret key. A channel the other side removed (404, 410) is disabled with the reason.
-- next_send_at spaces the messages to one Slack webhook (one a second; later after a 429).
CREATE TABLE alert_channels (
    workspace_id     bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    kind             text NOT NULL CHECK (kind IN ('slack', 'webhook')),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    url              bytea NOT NULL,
    url_hint         text NOT NULL DEFAULT '',
    secret           bytea,
    disabled_reason  text NOT NULL DEFAULT '',
    disabled_at      timestamptz,
    next_send_at     timestamptz NOT NULL DEFAULT now(),
    last_sent_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

-- An alert rule: one trigger, optional narrowing (grade at least, main score at least, an
-- activity condition), recipients, and a throttle window per lead.
CREATE TABLE alert_rules (
    workspace_id    bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    enabled         boolean NOT NULL DEFAULT true,
    definition      jsonb NOT NULL,
    created_by      bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);

-- Every time a rule matched a lead. Sent alerts have deliveries; a match within the rule's
-- window after a sent one is folded (counted for the digest, not sent).
CREATE TABLE alerts (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    rule_id       bigint NOT NULL,
    lead_id       bigint NOT NULL,
    reason        text NOT NULL,
    folded        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, rule_id) REFERENCES alert_rules (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX alerts_throttle_idx ON alerts (workspace_id, rule_id, lead_id, created_at DESC) WHERE NOT folded;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check,
    ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('email', 'slack', 'webhook'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
    ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('invitation', 'password_reset', 'test', 'alert'));
ALTER TABLE deliveries ADD COLUMN channel_id bigint, ADD COLUMN alert_id bigint;
