-- Milestones: the lines a workspace cares about a lead crossing (the MQL line "Lead score ≥
-- 60", a label gained, a fit grade reached). Scoring records every crossing with its time;
-- creating a milestone back-fills crossings from the score ledger.
CREATE TABLE milestones (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind          text NOT NULL CHECK (kind IN ('score', 'label', 'grade')),
    score_id      bigint,
    threshold     double precision,
    value         text NOT NULL DEFAULT '',
    -- Back-fill of history: the job reads the ledger lead by lead; backfill_lead is how far
    -- it got, backfilled_at when it finished.
    backfill_lead bigint NOT NULL DEFAULT 0,
    backfilled_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name),
    FOREIGN KEY (workspace_id, score_id) REFERENCES score_names (workspace_id, id) ON DELETE CASCADE,
    CHECK ((kind = 'score') = (score_id IS NOT NULL AND threshold IS NOT NULL)),
    CHECK (kind = 'score' OR value <> '')
);

-- One row per crossing: the lead, its account then, and when (the time of the activity that
-- carried the lead over; a re-score after a rule edit crosses at the edit).
CREATE TABLE milestone_crossings (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    milestone_id  bigint NOT NULL,
    lead_id       bigint NOT NULL,
    account_id    bigint,
    crossed_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    -- History back-fill and live scoring find a crossing from the same ledger lines: the
    -- second to record it changes nothing.
    UNIQUE (workspace_id, milestone_id, lead_id, crossed_at),
    FOREIGN KEY (workspace_id, milestone_id) REFERENCES milestones (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX milestone_crossings_report_idx ON milestone_crossings (workspace_id, milestone_id, crossed_at);
CREATE INDEX milestone_crossings_lead_idx ON milestone_crossings (workspace_id, lead_id, crossed_at);

-- Attribution, kept current as crossings are recorded and touches arrive: per crossing and
-- touch dimension value, the credit each model gives it (fractions of the crossing; each
-- model's credits of one crossing and dimension sum to 1). Reports sum these rows instead of
-- scanning activities. lead, account, milestone and time are copied from the crossing so a
-- report reads one index range.
CREATE TABLE attribution_credits (
    workspace_id   bigint NOT NULL,
    crossing_id    bigint NOT NULL,
    dimension      text NOT NULL CHECK (dimension IN ('campaign', 'channel', 'source', 'page')),
    value          text NOT NULL,
    milestone_id   bigint NOT NULL,
    lead_id        bigint NOT NULL,
    account_id     bigint,
    crossed_at     timestamptz NOT NULL,
    touches        integer NOT NULL,
    first_touch_at timestamptz NOT NULL,
    first_touch    double precision NOT NULL,
    last_touch     double precision NOT NULL,
    linear         double precision NOT NULL,
    u_shaped       double precision NOT NULL,
    w_shaped       double precision NOT NULL,
    time_decay     double precision NOT NULL,
    PRIMARY KEY (workspace_id, crossing_id, dimension, value),
    FOREIGN KEY (workspace_id, crossing_id) REFERENCES milestone_crossings (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX attribution_credits_report_idx ON attribution_credits (workspace_id, milestone_id, dimension, crossed_at);

-- The models' settings, per workspace.
ALTER TABLE workspaces
    ADD COLUMN attribution_lookback_days integer NOT NULL DEFAULT 90 CHECK (attribution_lookback_days BETWEEN 1 AND 730),
    ADD COLUMN attribution_half_life_days double precision NOT NULL DEFAULT 7 CHECK (attribution_half_life_days > 0 AND attribution_half_life_days <= 365);

-- When each lead last turned hot, for the dashboard's "new hot leads this week".
ALTER TABLE leads ADD COLUMN hot_since timestamptz;
CREATE INDEX leads_hot_since_idx ON leads (workspace_id, hot_since DESC) WHERE hot_since IS NOT NULL;

-- The dashboard's biggest movers read the last week of the ledger: the ledger is written in
-- time order, so a BRIN range on its creation time finds that week for a few pages of index
-- (a btree would cost every scoring write another index entry).
CREATE INDEX score_ledger_created_brin ON score_ledger USING brin (created_at);
