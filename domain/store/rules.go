package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/rules"
)

const ruleColumns = `workspace_id, id, version, match_version, position, name, kind, enabled, definition, created_at, updated_at,
	last_matched_at, leads_matched`

// ListRules lists the workspace's rules in their order.
func (s *Store) ListRules(ctx context.Context, workspaceID int64) ([]model.StoredRule, error) {
	return listRules(ctx, s.db, workspaceID)
}

func listRules(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) ([]model.StoredRule, error) {
	var out []model.StoredRule
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+ruleColumns+` FROM rules
		WHERE workspace_id = $1 AND deleted_at IS NULL ORDER BY position, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list rules: %w", err)
	}
	return out, nil
}

// RuleByID loads one rule that is not deleted.
func (s *Store) RuleByID(ctx context.Context, workspaceID, id int64) (model.StoredRule, error) {
	var r model.StoredRule
	err := s.db.GetContext(ctx, &r, `SELECT `+ruleColumns+` FROM rules
		WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`, workspaceID, id)
	if err != nil {
		return r, fmt.Errorf("store: unable to load rule: %w", notFound(err))
	}
	return r, nil
}

// RuleNames maps every rule id ever used in the workspace (deleted ones too) to its name,
// so the ledger can name the rules behind old points.
func (s *Store) RuleNames(ctx context.Context, workspaceID int64) (map[int64]string, error) {
	rows := []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}{}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, name FROM rules WHERE workspace_id = $1`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to list rule names: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// SaveRule creates a rule (id 0) or makes a new version of one, and queues a re-score.
func (s *Store) SaveRule(ctx context.Context, workspaceID, userID, id int64, def model.RuleDef) (model.StoredRule, error) {
	var saved model.StoredRule
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		filter, err := editFilter(ctx, tx, workspaceID, id, def)
		if err != nil {
			return err
		}
		if err := rulesChangedFor(ctx, tx, workspaceID, fmt.Sprintf("rule %q saved", def.Name), filter); err != nil {
			return err
		}
		saved, err = saveRule(ctx, tx, workspaceID, userID, id, def)
		return err
	})
	return saved, err
}

// editFilter is the leads a score rule's edit can change: those with an activity that the old
// or the new version could match (nil: every lead — another kind of rule, or a version whose
// filter could not be derived). A new rule has no old version. The row is read without a
// lock: the update below takes it, after the jobs (docs/work.md).
func editFilter(ctx context.Context, tx *sqlx.Tx, workspaceID, id int64, def model.RuleDef) ([]byte, error) {
	if def.Kind != rules.KindScore || def.ActivityFilter == nil {
		return nil, nil
	}
	var next rules.ActivityFilter
	if err := json.Unmarshal(def.ActivityFilter, &next); err != nil {
		return nil, nil
	}
	if id != 0 {
		var old struct {
			Kind   string `db:"kind"`
			Filter []byte `db:"activity_filter"`
		}
		err := tx.GetContext(ctx, &old, `SELECT kind, activity_filter FROM rules WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`, workspaceID, id)
		if err != nil {
			return nil, fmt.Errorf("store: unable to read the rule: %w", notFound(err))
		}
		var prev rules.ActivityFilter
		if old.Kind != rules.KindScore || old.Filter == nil || json.Unmarshal(old.Filter, &prev) != nil {
			return nil, nil
		}
		next = append(prev, next...)
	}
	return json.Marshal(next)
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func saveRule(ctx context.Context, tx *sqlx.Tx, workspaceID, userID, id int64, def model.RuleDef) (model.StoredRule, error) {
	var r model.StoredRule
	if def.ScoreName != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO score_names (workspace_id, name, is_main)
			VALUES ($1, $2, NOT EXISTS (SELECT 1 FROM score_names WHERE workspace_id = $1 AND is_main))
			ON CONFLICT (workspace_id, name) DO NOTHING`, workspaceID, def.ScoreName); err != nil {
			return r, fmt.Errorf("store: unable to add score: %w", err)
		}
	}
	var err error
	if id == 0 {
		err = tx.GetContext(ctx, &r, `INSERT INTO rules (workspace_id, position, name, kind, enabled, definition, updated_by, activity_filter)
			VALUES ($1, (SELECT COALESCE(max(position), 0) + 1 FROM rules WHERE workspace_id = $1), $2, $3, $4, $5, $6, $7)
			RETURNING `+ruleColumns, workspaceID, def.Name, def.Kind, def.Enabled, string(def.Definition), userID, nullJSON(def.ActivityFilter))
	} else {
		// The match version moves with anything that changes which activities the rule matches
		// or how it shares points out; points, expiry and half-life only re-price (see
		// migration 0040). In SET, the row's columns are the old values.
		err = tx.GetContext(ctx, &r, `UPDATE rules SET version = version + 1, name = $3, kind = $4, enabled = $5,
			match_version = CASE WHEN kind = $4 AND definition->'when' = $6::jsonb->'when'
					AND (definition->'score') - 'points' - 'expire_days' - 'half_life_days' = ($6::jsonb->'score') - 'points' - 'expire_days' - 'half_life_days'
				THEN match_version ELSE version + 1 END,
			definition = $6, updated_by = $7, updated_at = now(), activity_filter = $8
			WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING `+ruleColumns,
			workspaceID, id, def.Name, def.Kind, def.Enabled, string(def.Definition), userID, nullJSON(def.ActivityFilter))
	}
	if err != nil {
		return r, fmt.Errorf("store: unable to save rule: %w", notFound(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rule_versions (workspace_id, rule_id, version, definition, created_by)
		VALUES ($1, $2, $3, $4, $5)`, workspaceID, r.ID, r.Version, string(def.Definition), userID); err != nil {
		return r, fmt.Errorf("store: unable to keep rule version: %w", err)
	}
	return r, nil
}

// rulesChanged moves the workspace's rules version (workers recompile) and replaces any
// re-scoring still to do with one job from the first lead.
//
// Locks are taken jobs first, then the workspace row: the re-scoring worker holds its job
// while it works, so this order waits for its chunk instead of deadlocking with it.
func rulesChanged(ctx context.Context, tx *sqlx.Tx, workspaceID int64, reason string) error {
	return rulesChangedFor(ctx, tx, workspaceID, reason, nil)
}

// rulesChangedFor is rulesChanged for a change that can only affect the leads with an
// activity passing filter (nil: every lead). A re-scoring job it supersedes had leads of its
// own still to do, so then every lead is re-scored.
func rulesChangedFor(ctx context.Context, tx *sqlx.Tx, workspaceID int64, reason string, filter []byte) error {
	res, err := tx.ExecContext(ctx, `UPDATE rescore_jobs SET state = 'superseded', finished_at = now()
		WHERE workspace_id = $1 AND state IN ('queued', 'running')`, workspaceID)
	if err != nil {
		return fmt.Errorf("store: unable to supersede re-scoring: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		filter = nil
	}
	var version int64
	if err := tx.GetContext(ctx, &version, `UPDATE workspaces SET rules_version = rules_version + 1
		WHERE id = $1 RETURNING rules_version`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to move rules version: %w", err)
	}
	// A targeted job counts its leads when it starts (the count reads activities).
	if _, err := tx.ExecContext(ctx, `WITH job AS (
			INSERT INTO rescore_jobs (workspace_id, reason, rules_version, total, lead_filter)
			VALUES ($1, $2, $3, CASE WHEN $5::jsonb IS NULL THEN (SELECT count(*) FROM leads WHERE workspace_id = $1) ELSE 0 END, $5) RETURNING id)
		INSERT INTO jobs (workspace_id, kind, key) SELECT $1, $4, id::text FROM job`, workspaceID, reason, version, JobRescore, nullJSON(filter)); err != nil {
		return fmt.Errorf("store: unable to queue re-scoring: %w", err)
	}
	return nil
}

// RulesVersion tells whether a cached rule set is still current.
func (s *Store) RulesVersion(ctx context.Context, workspaceID int64) (int64, error) {
	return rulesVersion(ctx, s.db, workspaceID)
}

// RulesVersion reads the rules version inside the transaction (scoring holds one: a second
// connection for the read could wait on a pool its own transactions exhaust).
func (t *Tx) RulesVersion(ctx context.Context, workspaceID int64) (int64, error) {
	return rulesVersion(ctx, t.tx, workspaceID)
}

func rulesVersion(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) (int64, error) {
	var v int64
	if err := sqlx.GetContext(ctx, q, &v, `SELECT rules_version FROM workspaces WHERE id = $1`, workspaceID); err != nil {
		return 0, fmt.Errorf("store: unable to read rules version: %w", notFound(err))
	}
	return v, nil
}

// RuleSource is what compiling a workspace's rules needs, read at one version.
type RuleSource struct {
	Version    int64
	Rules      []model.StoredRule
	Scores     []model.ScoreName
	GradeScale json.RawMessage
}

// RuleSource reads the workspace's rules, scores and grade scale.
func (s *Store) RuleSource(ctx context.Context, workspaceID int64) (RuleSource, error) {
	var src RuleSource
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		src, err = ruleSource(ctx, tx, workspaceID)
		return err
	})
	return src, err
}

// RuleSource reads the workspace's rules, scores and grade scale inside the transaction.
func (t *Tx) RuleSource(ctx context.Context, workspaceID int64) (RuleSource, error) {
	return ruleSource(ctx, t.tx, workspaceID)
}

func ruleSource(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) (RuleSource, error) {
	src := RuleSource{}
	var err error
	if src.Version, err = rulesVersion(ctx, q, workspaceID); err != nil {
		return src, err
	}
	if src.Rules, err = listRules(ctx, q, workspaceID); err != nil {
		return src, err
	}
	if src.Scores, err = listScoreNames(ctx, q, workspaceID); err != nil {
		return src, err
	}
	src.GradeScale, err = gradeScale(ctx, q, workspaceID)
	return src, err
}

// SetRuleEnabled turns a rule on or off.
func (s *Store) SetRuleEnabled(ctx context.Context, workspaceID, id int64, enabled bool) error {
	var changes int
	if err := s.db.GetContext(ctx, &changes, `SELECT count(*) FROM rules WHERE workspace_id = $1 AND id = $2
		AND deleted_at IS NULL AND enabled <> $3`, workspaceID, id, enabled); err != nil || changes == 0 {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		verb := "disabled"
		if enabled {
			verb = "enabled"
		}
		if err := rulesChanged(ctx, tx, workspaceID, "a rule was "+verb); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE rules SET enabled = $3, updated_at = now(),
			definition = jsonb_set(definition, '{enabled}', to_jsonb($3::boolean))
			WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`, workspaceID, id, enabled)
		if err != nil {
			return fmt.Errorf("store: unable to switch rule: %w", err)
		}
		return nil
	})
}

// DeleteRule removes a rule from the set; its versions stay for the ledger.
func (s *Store) DeleteRule(ctx context.Context, workspaceID, id int64) error {
	r, err := s.RuleByID(ctx, workspaceID, id)
	if err != nil {
		return fmt.Errorf("store: unable to delete rule: %w", notFound(err))
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := rulesChanged(ctx, tx, workspaceID, fmt.Sprintf("rule %q deleted", r.Name)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE rules SET deleted_at = now(), enabled = false
			WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`, workspaceID, id)
		if err != nil {
			return fmt.Errorf("store: unable to delete rule: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: unable to delete rule: %w", ErrNotFound)
		}
		return nil
	})
}

// MoveRule swaps a rule with its neighbour above (up) or below. Order is for people: it does
// not change scores, so it queues no re-score.
func (s *Store) MoveRule(ctx context.Context, workspaceID, id int64, up bool) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []struct {
			ID       int64 `db:"id"`
			Position int   `db:"position"`
		}
		if err := tx.SelectContext(ctx, &rows, `SELECT id, position FROM rules WHERE workspace_id = $1 AND deleted_at IS NULL
			ORDER BY position, id FOR UPDATE`, workspaceID); err != nil {
			return fmt.Errorf("store: unable to order rules: %w", err)
		}
		at := -1
		for i, r := range rows {
			if r.ID == id {
				at = i
			}
		}
		if at < 0 {
			return fmt.Errorf("store: unable to move rule: %w", ErrNotFound)
		}
		other := at + 1
		if up {
			other = at - 1
		}
		if other < 0 || other >= len(rows) {
			return nil
		}
		rows[at], rows[other] = rows[other], rows[at]
		for i, r := range rows {
			if _, err := tx.ExecContext(ctx, `UPDATE rules SET position = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, r.ID, i+1); err != nil {
				return fmt.Errorf("store: unable to move rule: %w", err)
			}
		}
		return nil
	})
}

// ImportRules adds rules after the existing ones, or replaces them all, in one transaction.
func (s *Store) ImportRules(ctx context.Context, workspaceID, userID int64, defs []model.RuleDef, replace bool) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := rulesChanged(ctx, tx, workspaceID, fmt.Sprintf("%d rules imported", len(defs))); err != nil {
			return err
		}
		return importRules(ctx, tx, workspaceID, userID, defs, replace)
	})
}

func importRules(ctx context.Context, tx *sqlx.Tx, workspaceID, userID int64, defs []model.RuleDef, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET deleted_at = now(), enabled = false
			WHERE workspace_id = $1 AND deleted_at IS NULL`, workspaceID); err != nil {
			return fmt.Errorf("store: unable to replace rules: %w", err)
		}
	}
	for _, d := range defs {
		if _, err := saveRule(ctx, tx, workspaceID, userID, 0, d); err != nil {
			return err
		}
	}
	return nil
}

// ListScoreNames lists the workspace's named scores, the main one first.
func (s *Store) ListScoreNames(ctx context.Context, workspaceID int64) ([]model.ScoreName, error) {
	return listScoreNames(ctx, s.db, workspaceID)
}

func listScoreNames(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) ([]model.ScoreName, error) {
	var out []model.ScoreName
	err := sqlx.SelectContext(ctx, q, &out, `SELECT id, name, rollup, is_main FROM score_names
		WHERE workspace_id = $1 ORDER BY is_main DESC, name`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list scores: %w", err)
	}
	return out, nil
}

// UpdateScoreName sets how a score rolls up to accounts and whether it is the main score.
// A roll-up change re-scores (accounts change); making a score main re-fills the sort column.
func (s *Store) UpdateScoreName(ctx context.Context, workspaceID, id int64, rollup string, main bool) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := rulesChanged(ctx, tx, workspaceID, "score settings changed"); err != nil {
			return err
		}
		if main {
			if err := moveMainScore(ctx, tx, workspaceID, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE score_names SET is_main = false WHERE workspace_id = $1 AND id <> $2`, workspaceID, id); err != nil {
				return fmt.Errorf("store: unable to update scores: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE score_names SET rollup = $3, is_main = is_main OR $4
			WHERE workspace_id = $1 AND id = $2`, workspaceID, id, rollup, main)
		if err != nil {
			return fmt.Errorf("store: unable to update score: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: unable to update score: %w", ErrNotFound)
		}
		return nil
	})
}

// moveMainScore makes score id the main one where values are kept: the main score lives in
// leads.main_score and accounts.main_score only, the others in lead_scores and account_scores
// (migrations/0045). The old main score's values become rows, the new one's move to the
// columns, so every score keeps its values while the re-score that follows runs.
func moveMainScore(ctx context.Context, tx *sqlx.Tx, workspaceID, id int64) error {
	var already bool
	if err := tx.GetContext(ctx, &already, `SELECT EXISTS (SELECT 1 FROM score_names WHERE workspace_id = $1 AND id = $2 AND is_main)`, workspaceID, id); err != nil {
		return fmt.Errorf("store: unable to move the main score: %w", err)
	}
	if already {
		return nil
	}
	for _, kind := range []struct{ table, scores, key string }{{"leads", "lead_scores", "lead_id"}, {"accounts", "account_scores", "account_id"}} {
		steps := []string{
			`INSERT INTO %[2]s (workspace_id, %[3]s, score_id, value)
				SELECT o.workspace_id, o.id, n.id, o.main_score FROM %[1]s o JOIN score_names n ON n.workspace_id = o.workspace_id AND n.is_main AND n.id <> $2
				WHERE o.workspace_id = $1 AND o.main_score <> 0
				ON CONFLICT (workspace_id, %[3]s, score_id) DO UPDATE SET value = excluded.value`,
			`UPDATE %[1]s o SET main_score = COALESCE(s.value, 0)
				FROM %[1]s o2 LEFT JOIN %[2]s s ON s.workspace_id = o2.workspace_id AND s.%[3]s = o2.id AND s.score_id = $2
				WHERE o2.workspace_id = $1 AND o.workspace_id = $1 AND o.id = o2.id AND o.main_score <> COALESCE(s.value, 0)`,
			`DELETE FROM %[2]s WHERE workspace_id = $1 AND score_id = $2`,
		}
		for _, q := range steps {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(q, kind.table, kind.scores, kind.key), workspaceID, id); err != nil {
				return fmt.Errorf("store: unable to move the main score: %w", err)
			}
		}
	}
	return nil
}

// GradeScale returns the workspace's grade thresholds as stored (JSON with A–E).
func (s *Store) GradeScale(ctx context.Context, workspaceID int64) (json.RawMessage, error) {
	return gradeScale(ctx, s.db, workspaceID)
}

func gradeScale(ctx context.Context, q sqlx.QueryerContext, workspaceID int64) (json.RawMessage, error) {
	var b []byte
	if err := sqlx.GetContext(ctx, q, &b, `SELECT grade_scale FROM workspaces WHERE id = $1`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to read grade scale: %w", notFound(err))
	}
	return b, nil
}

// SetGradeScale stores new grade thresholds and re-scores.
func (s *Store) SetGradeScale(ctx context.Context, workspaceID int64, scale json.RawMessage) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := rulesChanged(ctx, tx, workspaceID, "grade thresholds changed"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workspaces SET grade_scale = $2 WHERE id = $1`, workspaceID, string(scale)); err != nil {
			return fmt.Errorf("store: unable to save grade scale: %w", err)
		}
		return nil
	})
}

// ListEventPropertyKeys lists the property keys the rule builder offers.
func (s *Store) ListEventPropertyKeys(ctx context.Context, workspaceID int64) ([]model.EventPropertyKey, error) {
	var out []model.EventPropertyKey
	err := s.db.SelectContext(ctx, &out, `SELECT key, type, builtin FROM event_property_keys
		WHERE workspace_id = $1 ORDER BY builtin DESC, key`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list event properties: %w", err)
	}
	return out, nil
}

// AddEventPropertyKeys adds keys (or changes their type).
func (s *Store) AddEventPropertyKeys(ctx context.Context, workspaceID int64, keys []model.EventPropertyKey) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return addPropertyKeys(ctx, tx, workspaceID, keys) })
}

func addPropertyKeys(ctx context.Context, tx *sqlx.Tx, workspaceID int64, keys []model.EventPropertyKey) error {
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_property_keys (workspace_id, key, type, builtin)
			VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, key) DO UPDATE SET type = excluded.type`,
			workspaceID, k.Key, k.Type, k.Builtin); err != nil {
			return fmt.Errorf("store: unable to add event property: %w", err)
		}
	}
	return nil
}

// DeleteEventPropertyKey removes a key the user added; built-in keys stay.
func (s *Store) DeleteEventPropertyKey(ctx context.Context, workspaceID int64, key string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM event_property_keys WHERE workspace_id = $1 AND key = $2 AND NOT builtin`, workspaceID, key)
	if err != nil {
		return fmt.Errorf("store: unable to delete event property: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: unable to delete event property: %w", ErrNotFound)
	}
	return nil
}

// EventNames lists activity names seen in the workspace, most recent first.
func (s *Store) EventNames(ctx context.Context, workspaceID int64, limit int) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, `SELECT name FROM event_names WHERE workspace_id = $1
		ORDER BY last_seen_at DESC, name LIMIT $2`, workspaceID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list event names: %w", err)
	}
	return out, nil
}

// SeedScoring gives a new workspace its starting rules and event property keys.
func seedScoring(ctx context.Context, tx *sqlx.Tx, workspaceID, userID int64, defs []model.RuleDef, keys []model.EventPropertyKey) error {
	if err := importRules(ctx, tx, workspaceID, userID, defs, false); err != nil {
		return err
	}
	if err := addPropertyKeys(ctx, tx, workspaceID, keys); err != nil {
		return err
	}
	if len(defs) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE workspaces SET rules_version = rules_version + 1 WHERE id = $1`, workspaceID)
	return err
}

// LatestRescoreJob returns the newest re-scoring job of the workspace, if any.
func (s *Store) LatestRescoreJob(ctx context.Context, workspaceID int64) (*model.RescoreJob, error) {
	var j model.RescoreJob
	err := s.db.GetContext(ctx, &j, `SELECT * FROM rescore_jobs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1`, workspaceID)
	if err != nil {
		if notFound(err) == ErrNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("store: unable to read re-scoring: %w", err)
	}
	return &j, nil
}

// TemperatureBands returns the workspace's temperature band shares.
func (s *Store) TemperatureBands(ctx context.Context, workspaceID int64) (rules.Bands, error) {
	var raw []byte
	if err := s.db.GetContext(ctx, &raw, `SELECT temperature_bands FROM workspaces WHERE id = $1`, workspaceID); err != nil {
		return rules.Bands{}, fmt.Errorf("store: unable to read temperature bands: %w", notFound(err))
	}
	b := rules.DefaultBands
	if err := json.Unmarshal(raw, &b); err != nil || !b.Valid() {
		return rules.DefaultBands, nil
	}
	return b, nil
}

// SetTemperatureBands stores new band shares and queues the reheat that places every lead in
// them, in one transaction.
func (s *Store) SetTemperatureBands(ctx context.Context, workspaceID int64, b rules.Bands, reheatJob string) error {
	raw, _ := json.Marshal(b)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE workspaces SET temperature_bands = $2 WHERE id = $1`, workspaceID, string(raw)); err != nil {
			return fmt.Errorf("store: unable to save temperature bands: %w", err)
		}
		return s.EnqueueJob(ctx, &Tx{tx: tx}, workspaceID, reheatJob, "", time.Now())
	})
}

// TemperatureCounts counts the workspace's leads per temperature.
func (s *Store) TemperatureCounts(ctx context.Context, workspaceID int64) (map[string]int, error) {
	var rows []struct {
		Temperature string `db:"temperature"`
		N           int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT temperature, count(*) AS n FROM leads WHERE workspace_id = $1 GROUP BY temperature`, workspaceID); err != nil {
		return nil, fmt.Errorf("store: unable to count temperatures: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Temperature] = r.N
	}
	return out, nil
}

// SeenPropertyKeys lists property keys in the workspace's most recent activities (5,000 at
// most are read) where rules read them — at the top, in custom_properties and in
// purchase_properties — with the kind of value they hold, most frequent first.
func (s *Store) SeenPropertyKeys(ctx context.Context, workspaceID int64, limit int) ([]model.EventPropertyKey, error) {
	var out []model.EventPropertyKey
	err := s.db.SelectContext(ctx, &out, `
		SELECT p.key, CASE mode() WITHIN GROUP (ORDER BY jsonb_typeof(p.value))
				WHEN 'number' THEN 'number' WHEN 'boolean' THEN 'boolean' ELSE 'string' END AS type, false AS builtin
		FROM (SELECT properties FROM activities WHERE workspace_id = $1 ORDER BY id DESC LIMIT 5000) a,
			-- rules read keys at the top and in custom_properties and purchase_properties
			LATERAL (SELECT o FROM (VALUES (a.properties), (a.properties->'custom_properties'), (a.properties->'purchase_properties')) v(o)
				WHERE jsonb_typeof(o) = 'object') h,
			jsonb_each(h.o) p
		WHERE jsonb_typeof(p.value) IN ('string', 'number', 'boolean')
		GROUP BY p.key ORDER BY count(*) DESC, p.key LIMIT $2`, workspaceID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list the property keys seen: %w", err)
	}
	return out, nil
}
