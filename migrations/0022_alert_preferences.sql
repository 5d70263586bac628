-- Each person's alerts: how they get each alert rule that names them (at once, in the digest
-- only, or not at all; no row: at once), their digest (daily at 08:00 in their time zone,
-- weekly on Mondays, or off) and their quiet hours (local hours; alerts by email wait until
-- the end).
ALTER TABLE users
    ADD COLUMN digest          text NOT NULL DEFAULT 'daily' CHECK (digest IN ('daily', 'weekly', 'off')),
    ADD COLUMN quiet_from      smallint CHECK (quiet_from BETWEEN 0 AND 23),
    ADD COLUMN quiet_to        smallint CHECK (quiet_to BETWEEN 0 AND 23),
    ADD COLUMN last_digest_at  timestamptz;

CREATE TABLE alert_preferences (
    workspace_id  bigint NOT NULL,
    user_id       bigint NOT NULL,
    rule_id       bigint NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('immediate', 'digest', 'off')),
    PRIMARY KEY (workspace_id, user_id, rule_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, rule_id) REFERENCES alert_rules (workspace_id, id) ON DELETE CASCADE
);

-- What a person's next digest lists: alerts they chose to read in the digest, and matches the
-- throttle held back (counted per rule).
CREATE TABLE digest_items (
    workspace_id  bigint NOT NULL,
    user_id       bigint NOT NULL,
    alert_id      bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id, alert_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, alert_id) REFERENCES alerts (workspace_id, id) ON DELETE CASCADE
);

ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
    ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('invitation', 'password_reset', 'test', 'alert', 'digest'));

-- Digests are looked for every 15 minutes: a job per person whose 08:00 has come.
INSERT INTO jobs (workspace_id, kind, repeat_every) VALUES (0, 'sweep-digests', interval '15 minutes');
