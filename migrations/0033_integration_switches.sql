-- Each part of the integrations can be switched off without losing its settings or history:
-- a row here means the part is off (intake answers 401/403, outbound work waits in its queue).
CREATE TABLE integration_switches (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    part          text NOT NULL CHECK (part IN ('braze_rest', 'currents', 'braze_writeback', 'website', 'segment',
                      'salesforce', 'salesforce_push', 'salesforce_pull', 'slack', 'email', 'webhooks')),
    off_since     timestamptz NOT NULL DEFAULT now(),
    off_by        text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, part)
);
