-- The main score is kept once: in leads.main_score and accounts.main_score, which lists sort
-- by, and no longer also as a row of lead_scores and account_scores. Every scoring pass wrote
-- it twice; a workspace with the default rules (one score) wrote a lead_scores and an
-- account_scores row per pass for nothing but that copy. In the scoring benchmark (20,000
-- leads, 50 rules, three scores) PostgreSQL's CPU for a pass of one new activity fell from
-- 395-428 to 275-282 µs.
--
-- Make sure both copies agree before the rows go (they were written together).
UPDATE leads l SET main_score = s.value
FROM lead_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id AND n.is_main
WHERE l.workspace_id = s.workspace_id AND l.id = s.lead_id AND l.main_score <> s.value;

UPDATE accounts a SET main_score = s.value
FROM account_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id AND n.is_main
WHERE a.workspace_id = s.workspace_id AND a.id = s.account_id AND a.main_score <> s.value;

DELETE FROM lead_scores s USING score_names n
WHERE n.workspace_id = s.workspace_id AND n.id = s.score_id AND n.is_main;

DELETE FROM account_scores s USING score_names n
WHERE n.workspace_id = s.workspace_id AND n.id = s.score_id AND n.is_main;

-- Every named score of a lead (of an account), the main one included: what readers that
-- want them all read. A lead without a score has no row for it, as before (a score that
-- falls to 0 is deleted).
CREATE VIEW lead_score_values AS
    SELECT s.workspace_id, s.lead_id, s.score_id, s.value
    FROM lead_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id AND NOT n.is_main
    UNION ALL
    SELECT l.workspace_id, l.id, n.id, l.main_score
    FROM leads l JOIN score_names n ON n.workspace_id = l.workspace_id AND n.is_main
    WHERE l.main_score <> 0;

CREATE VIEW account_score_values AS
    SELECT s.workspace_id, s.account_id, s.score_id, s.value
    FROM account_scores s JOIN score_names n ON n.workspace_id = s.workspace_id AND n.id = s.score_id AND NOT n.is_main
    UNION ALL
    SELECT a.workspace_id, a.id, n.id, a.main_score
    FROM accounts a JOIN score_names n ON n.workspace_id = a.workspace_id AND n.is_main
    WHERE a.main_score <> 0;
