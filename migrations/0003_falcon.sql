-- The falcon rule engine: rules and their versions, named scores, what scoring stored on
-- leads and accounts, the score ledger, and re-scoring jobs.

-- Named scores. The main score orders the lead list by default; rollup says how the score of
-- an account is made from its people's scores.
CREATE TABLE score_names (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    rollup        text NOT NULL DEFAULT 'sum' CHECK (rollup IN ('sum', 'max', 'decayed_sum')),
    is_main       boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);
CREATE UNIQUE INDEX score_names_main_idx ON score_names (workspace_id) WHERE is_main;

-- Rules as open JSON. Every edit makes a new version; the ledger names the version that gave
-- points, so "why this score" still explains points given by a rule since edited or deleted.
CREATE TABLE rules (
    workspace_id     bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    version          integer NOT NULL DEFAULT 1,
    position         integer NOT NULL,
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('score', 'label', 'grade')),
    enabled          boolean NOT NULL,
    definition       jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       bigint,
    deleted_at       timestamptz,
    -- Kept up to date by scoring, for the rules list.
    last_matched_at  timestamptz,
    leads_matched    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX rules_order_idx ON rules (workspace_id, position) WHERE deleted_at IS NULL;

CREATE TABLE rule_versions (
    workspace_id  bigint NOT NULL,
    rule_id       bigint NOT NULL,
    version       integer NOT NULL,
    definition    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    bigint,
    PRIMARY KEY (workspace_id, rule_id, version),
    FOREIGN KEY (workspace_id, rule_id) REFERENCES rules (workspace_id, id) ON DELETE CASCADE
);

-- rules_version moves on every rule change: workers cache compiled rule sets by it.
ALTER TABLE workspaces
    ADD COLUMN rules_version    bigint NOT NULL DEFAULT 0,
    ADD COLUMN grade_scale      jsonb NOT NULL DEFAULT '{"A": 80, "B": 60, "C": 40, "D": 20, "E": 10}';

-- The workspace's heat percentiles in time-free units (see docs/rules.md), refreshed by the
-- scoring worker. A table of its own so workers never lock the workspace row.
CREATE TABLE heat_scales (
    workspace_id  bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    p50           double precision NOT NULL,
    p80           double precision NOT NULL,
    p95           double precision NOT NULL,
    -- how many active leads the percentiles were taken over: a workspace that has grown a
    -- lot since is placed anew without waiting.
    population    integer NOT NULL DEFAULT 0,
    computed_at   timestamptz NOT NULL
);

-- Event property keys offered by the rule builder.
CREATE TABLE event_property_keys (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    type          text NOT NULL DEFAULT 'string' CHECK (type IN ('string', 'number', 'boolean', 'date')),
    builtin       boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, key)
);

-- What scoring keeps on the lead, so lists sort and filter with indexes. main_score is the
-- main named score (also in lead_scores), heat is the engagement in time-free units: its order
-- never changes with time, only with new activity. refresh_at is the next time something
-- stored here changes by itself (points expire or decay, a label's window closes, the
-- temperature moves); the scoring worker re-scores due leads.
ALTER TABLE leads
    ADD COLUMN title         text NOT NULL DEFAULT '',
    ADD COLUMN industry      text NOT NULL DEFAULT '',
    ADD COLUMN company_size  integer,
    ADD COLUMN lead_source   text NOT NULL DEFAULT '',
    ADD COLUMN status        text NOT NULL DEFAULT '',
    ADD COLUMN owner_name    text NOT NULL DEFAULT '',
    ADD COLUMN owner_email   text NOT NULL DEFAULT '',
    ADD COLUMN main_score    double precision NOT NULL DEFAULT 0,
    ADD COLUMN fit_points    double precision NOT NULL DEFAULT 0,
    ADD COLUMN grade         text NOT NULL DEFAULT 'F' CHECK (grade IN ('A', 'B', 'C', 'D', 'E', 'F')),
    ADD COLUMN heat          double precision NOT NULL DEFAULT 0,
    ADD COLUMN rising        boolean NOT NULL DEFAULT false,
    ADD COLUMN temperature   text NOT NULL DEFAULT 'frozen' CHECK (temperature IN ('hot', 'warm', 'neutral', 'cold', 'frozen')),
    ADD COLUMN labels        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN refresh_at    timestamptz;
CREATE INDEX leads_main_score_idx ON leads (workspace_id, main_score DESC, id DESC);
CREATE INDEX leads_heat_idx ON leads (workspace_id, heat DESC, id DESC);
CREATE INDEX leads_grade_idx ON leads (workspace_id, grade, main_score DESC, id DESC);
CREATE INDEX leads_temperature_idx ON leads (workspace_id, temperature, main_score DESC, id DESC);
CREATE INDEX leads_labels_idx ON leads USING gin (labels);
CREATE INDEX leads_refresh_idx ON leads (refresh_at) WHERE refresh_at IS NOT NULL;

CREATE TABLE lead_scores (
    workspace_id  bigint NOT NULL,
    score_id      bigint NOT NULL,
    lead_id       bigint NOT NULL,
    value         double precision NOT NULL,
    PRIMARY KEY (workspace_id, score_id, lead_id)
);
CREATE INDEX lead_scores_order_idx ON lead_scores (workspace_id, score_id, value DESC, lead_id DESC);
CREATE INDEX lead_scores_lead_idx ON lead_scores (workspace_id, lead_id);

-- The score ledger: every change of a lead's score or label. A score line carries the rule
-- version and activity that earned (or lost) the points; the lead's current contributions
-- are the sums per activity and rule version. Written only by scoring, read by "why this
-- score" and the trend charts.
CREATE TABLE score_ledger (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    lead_id       bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('score', 'label')),
    score_id      bigint,
    label         text NOT NULL DEFAULT '',
    rule_id       bigint NOT NULL,
    rule_version  integer NOT NULL,
    activity_id   bigint,
    earned_at     timestamptz,
    delta         double precision NOT NULL,
    before        double precision NOT NULL,
    after         double precision NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX score_ledger_lead_idx ON score_ledger (workspace_id, lead_id, id);

-- What scoring knows of each lead, so a new activity is scored without re-reading the ledger:
-- the contributions the lead holds now (binary, see domain/scoring/state.go), the rules
-- version and profile they were computed with (a mismatch means score from scratch).
CREATE TABLE lead_scoring_state (
    workspace_id   bigint NOT NULL,
    lead_id        bigint NOT NULL,
    rules_version  bigint NOT NULL,
    profile_hash   bigint NOT NULL,
    contributions  bytea NOT NULL,
    PRIMARY KEY (workspace_id, lead_id)
);

ALTER TABLE accounts
    ADD COLUMN industry    text NOT NULL DEFAULT '',
    ADD COLUMN employees   integer,
    ADD COLUMN labels      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN main_score  double precision NOT NULL DEFAULT 0,
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();
CREATE INDEX accounts_main_score_idx ON accounts (workspace_id, main_score DESC, id DESC);

CREATE TABLE account_scores (
    workspace_id  bigint NOT NULL,
    score_id      bigint NOT NULL,
    account_id    bigint NOT NULL,
    value         double precision NOT NULL,
    PRIMARY KEY (workspace_id, score_id, account_id)
);
CREATE INDEX account_scores_account_idx ON account_scores (workspace_id, account_id);

-- Re-scoring after a rule change: one job walks every lead in id order, in chunks; a newer
-- change supersedes a job still running.
CREATE TABLE rescore_jobs (
    workspace_id   bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    state          text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'superseded', 'failed')),
    reason         text NOT NULL,
    rules_version  bigint NOT NULL,
    total          integer NOT NULL DEFAULT 0,
    done           integer NOT NULL DEFAULT 0,
    after_lead_id  bigint NOT NULL DEFAULT 0,
    error          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX rescore_jobs_open_idx ON rescore_jobs (created_at) WHERE state IN ('queued', 'running');

-- Every activity name seen in a workspace, for the rule builder's suggestions (a DISTINCT
-- over activities would read the whole table).
CREATE TABLE event_names (
    workspace_id  bigint NOT NULL,
    name          text NOT NULL,
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name)
);

-- Text search of the lead list (email, name, company) on large workspaces: a narrow table with
-- a trigram index, kept by a trigger that fires only when those columns change — so scoring's
-- frequent updates of leads do not pay for the index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE lead_search (
    workspace_id  bigint NOT NULL,
    lead_id       bigint NOT NULL,
    text          text NOT NULL,
    PRIMARY KEY (workspace_id, lead_id)
);
CREATE INDEX lead_search_text_idx ON lead_search USING gin (text gin_trgm_ops);

CREATE FUNCTION lead_search_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_search (workspace_id, lead_id, text)
    VALUES (NEW.workspace_id, NEW.id, lower(NEW.email || ' ' || NEW.first_name || ' ' || NEW.last_name || ' ' || NEW.company))
    ON CONFLICT (workspace_id, lead_id) DO UPDATE SET text = excluded.text;
    RETURN NULL;
END $$;

CREATE TRIGGER leads_search_keep AFTER INSERT OR UPDATE OF email, first_name, last_name, company ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_search_keep();

INSERT INTO lead_search (workspace_id, lead_id, text)
SELECT workspace_id, id, lower(email || ' ' || first_name || ' ' || last_name || ' ' || company) FROM leads;

-- Activities waiting to be scored, written by the ingest transaction that stored them; the
-- scoring workers take them in batches, several activities of a lead at once.
CREATE TABLE scoring_queue (
    workspace_id  bigint NOT NULL,
    activity_id   bigint NOT NULL,
    lead_id       bigint NOT NULL,
    queued_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, activity_id)
);
CREATE INDEX scoring_queue_order_idx ON scoring_queue (queued_at);
