-- The score ledger becomes one row per lead and scoring pass, each line an element of the
-- row's arrays, instead of one row per line. An incremental pass of one activity writes
-- about 7.5 lines (one per rule that gives points or a label): as rows, each was a heap
-- tuple, an entry in the key's index and a WAL record, and the ledger cost a scoring pass as
-- much as the update of the lead itself (pg_stat_statements, 20,000 passes: 1.1 s of
-- PostgreSQL's 6.5 s). As one row per pass the same lines took less than half the time
-- (docs/rules.md, "What a pass costs").
--
-- The view score_ledger lists the lines as before, with their position in the pass (line),
-- so readers keep their SQL. Line i covers several activities when covers_from[i] <=
-- covers_to[i]: the covered_* elements from the one to the other (1-based). Times are
-- microseconds since 1970 (UTC): PostgreSQL parses an integer about twenty times faster
-- than a timestamp's text, and a pass's lines cover up to hundreds of activities.
--
-- Readers of a week of lines (the dashboard's and the digest's movers, the digest's new
-- labels) would unnest every pass of the week, two to three times slower than reading the
-- lines as rows (dashboard on 100,000 leads: 84-113 ms became 196-319 ms). Each pass
-- therefore carries what they read as plain columns: how it moved the main score (the
-- workspace's main score when it was written: main_delta sums the lines' points, main_change
-- the score's value after minus before) and the labels it gave.
CREATE TABLE score_passes (
    workspace_id         bigint NOT NULL,
    lead_id              bigint NOT NULL,
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    created_at           timestamptz NOT NULL DEFAULT now(),
    score_ids            bigint[] NOT NULL,           -- NULL element: a label line
    labels               text[] NOT NULL,
    rule_ids             bigint[] NOT NULL,
    rule_versions        integer[] NOT NULL,
    activity_ids         bigint[] NOT NULL,           -- NULL element: none, or several covered
    earned_us            bigint[] NOT NULL,
    deltas               double precision[] NOT NULL,
    befores              double precision[] NOT NULL,
    afters               double precision[] NOT NULL,
    covers_from          integer[] NOT NULL,
    covers_to            integer[] NOT NULL,
    covered_activity_ids bigint[] NOT NULL,
    covered_earned_us    bigint[] NOT NULL,
    covered_deltas       double precision[] NOT NULL,
    main_score_id        bigint,
    main_delta           double precision NOT NULL DEFAULT 0,
    main_change          double precision NOT NULL DEFAULT 0,
    labels_given         text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (workspace_id, lead_id, id),
    CONSTRAINT score_passes_lines_check CHECK (
        cardinality(score_ids) > 0
        AND cardinality(labels) = cardinality(score_ids) AND cardinality(rule_ids) = cardinality(score_ids)
        AND cardinality(rule_versions) = cardinality(score_ids) AND cardinality(activity_ids) = cardinality(score_ids)
        AND cardinality(earned_us) = cardinality(score_ids) AND cardinality(deltas) = cardinality(score_ids)
        AND cardinality(befores) = cardinality(score_ids) AND cardinality(afters) = cardinality(score_ids)
        AND cardinality(covers_from) = cardinality(score_ids) AND cardinality(covers_to) = cardinality(score_ids)
        AND cardinality(covered_earned_us) = cardinality(covered_activity_ids)
        AND cardinality(covered_deltas) = cardinality(covered_activity_ids))
);
CREATE INDEX score_passes_created_brin ON score_passes USING brin (created_at);

-- The lines written so far: those of one transaction for one lead (they share created_at)
-- make one pass, in the order of their ids.
INSERT INTO score_passes (workspace_id, lead_id, created_at, score_ids, labels, rule_ids, rule_versions, activity_ids,
    earned_us, deltas, befores, afters, covers_from, covers_to, covered_activity_ids, covered_earned_us, covered_deltas,
    main_score_id, main_delta, main_change, labels_given)
SELECT g.workspace_id, g.lead_id, g.created_at, g.score_ids, g.labels, g.rule_ids, g.rule_versions, g.activity_ids,
    g.earned_us, g.deltas, g.befores, g.afters, g.covers_from, g.covers_to,
    COALESCE(c.ids, '{}'), COALESCE(c.ats, '{}'), COALESCE(c.deltas, '{}'),
    g.main_score_id, g.main_delta, g.main_change, g.labels_given
FROM (
    SELECT workspace_id, lead_id, created_at, min(id) AS first, min(main) AS main_score_id,
        COALESCE(sum(delta) FILTER (WHERE score_id = main), 0) AS main_delta,
        COALESCE(sum(after - before) FILTER (WHERE score_id = main), 0) AS main_change,
        COALESCE(array_agg(label ORDER BY id) FILTER (WHERE kind = 'label' AND delta > 0), '{}') AS labels_given,
        array_agg(score_id ORDER BY id) AS score_ids, array_agg(label ORDER BY id) AS labels,
        array_agg(rule_id ORDER BY id) AS rule_ids, array_agg(rule_version ORDER BY id) AS rule_versions,
        array_agg(activity_id ORDER BY id) AS activity_ids, array_agg((extract(epoch FROM earned_at) * 1000000)::bigint ORDER BY id) AS earned_us,
        array_agg(delta ORDER BY id) AS deltas, array_agg(before ORDER BY id) AS befores, array_agg(after ORDER BY id) AS afters,
        array_agg((upto - covered + 1)::integer ORDER BY id) AS covers_from, array_agg(upto::integer ORDER BY id) AS covers_to
    FROM (
        SELECT l.*, COALESCE(cardinality(l.activity_ids), 0) AS covered,
            sum(COALESCE(cardinality(l.activity_ids), 0)) OVER (PARTITION BY l.workspace_id, l.lead_id, l.created_at ORDER BY l.id) AS upto,
            (SELECT n.id FROM score_names n WHERE n.workspace_id = l.workspace_id AND n.is_main) AS main
        FROM score_ledger l
    ) lines
    GROUP BY workspace_id, lead_id, created_at
) g
LEFT JOIN (
    SELECT l.workspace_id, l.lead_id, l.created_at, array_agg(u.id ORDER BY l.id, u.n) AS ids,
        array_agg((extract(epoch FROM u.at) * 1000000)::bigint ORDER BY l.id, u.n) AS ats, array_agg(u.delta ORDER BY l.id, u.n) AS deltas
    FROM score_ledger l CROSS JOIN LATERAL unnest(l.activity_ids, l.earned_ats, l.deltas) WITH ORDINALITY AS u(id, at, delta, n)
    GROUP BY l.workspace_id, l.lead_id, l.created_at
) c ON c.workspace_id = g.workspace_id AND c.lead_id = g.lead_id AND c.created_at = g.created_at
ORDER BY g.first;

DROP TABLE score_ledger;

CREATE VIEW score_ledger AS
SELECT p.workspace_id, p.lead_id, p.id, x.line, p.created_at,
    CASE WHEN x.score_id IS NULL THEN 'label' ELSE 'score' END AS kind,
    x.score_id, x.label, x.rule_id, x.rule_version, x.activity_id,
    timestamptz 'epoch' + x.earned_us * interval '1 microsecond' AS earned_at, x.delta, x.before, x.after,
    CASE WHEN x.cover_from <= x.cover_to THEN p.covered_activity_ids[x.cover_from:x.cover_to] END AS activity_ids,
    CASE WHEN x.cover_from <= x.cover_to THEN ARRAY(
        SELECT timestamptz 'epoch' + e.us * interval '1 microsecond'
        FROM unnest(p.covered_earned_us[x.cover_from:x.cover_to]) WITH ORDINALITY AS e(us, n) ORDER BY e.n) END AS earned_ats,
    CASE WHEN x.cover_from <= x.cover_to THEN p.covered_deltas[x.cover_from:x.cover_to] END AS deltas
FROM score_passes p
CROSS JOIN LATERAL unnest(p.score_ids, p.labels, p.rule_ids, p.rule_versions, p.activity_ids, p.earned_us,
        p.deltas, p.befores, p.afters, p.covers_from, p.covers_to)
    WITH ORDINALITY AS x(score_id, label, rule_id, rule_version, activity_id, earned_us, delta, before, after,
        cover_from, cover_to, line);
